#include "mlp_twin.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include <cblas.h>

namespace xgrad::twin {

namespace {

// C (m, n) = op(A) op(B), row-major, op(X) = X or Xᵀ by the flag; k is the inner extent.
void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const float* a,
          const float* b, float* c) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                int(m), int(n), int(k), 1.0f, a, int(ta ? m : k), b, int(tb ? k : n), 0.0f, c,
                int(n));
}
void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const double* a,
          const double* b, double* c) {
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                int(m), int(n), int(k), 1.0, a, int(ta ? m : k), b, int(tb ? k : n), 0.0, c,
                int(n));
}

// z = h(a), in place.
template <class T>
void activate(Activation h, std::vector<T>& values) {
    switch (h) {
        case Activation::identity: return;
        case Activation::relu: for (T& v : values) v = v > T(0) ? v : T(0); return;
        case Activation::tanh: for (T& v : values) v = std::tanh(v); return;
        case Activation::sigmoid: for (T& v : values) v = T(1) / (T(1) + std::exp(-v)); return;
    }
}

// δ ⊙= h'(a), with h' written in terms of z = h(a).
template <class T>
void times_derivative(Activation h, const std::vector<T>& z, std::vector<T>& delta) {
    const std::size_t n = z.size();
    switch (h) {
        case Activation::identity: return;
        case Activation::relu: for (std::size_t i = 0; i < n; ++i) delta[i] = z[i] > T(0) ? delta[i] : T(0); return;
        case Activation::tanh: for (std::size_t i = 0; i < n; ++i) delta[i] *= T(1) - z[i] * z[i]; return;
        case Activation::sigmoid: for (std::size_t i = 0; i < n; ++i) delta[i] *= z[i] * (T(1) - z[i]); return;
    }
}

}  // namespace

template <class T>
MlpTwin<T>::MlpTwin(const std::vector<std::size_t>& sizes, Activation hidden, Activation output,
                    Loss loss, Reduction reduction, std::size_t batch)
    : loss_(loss), reduction_(reduction), batch_(batch) {
    if (sizes.size() < 2 || batch == 0) {
        throw std::invalid_argument("MlpTwin: needs at least two sizes and a positive batch");
    }
    for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
        const std::size_t in = sizes[l], out = sizes[l + 1];
        layers_.push_back({in, out, std::vector<T>(out * in), std::vector<T>(out),
                           std::vector<T>(out * in), std::vector<T>(out)});
        activations_.push_back(l + 2 == sizes.size() ? output : hidden);
        outputs_.emplace_back(batch * out);
        deltas_.emplace_back(batch * out);
    }
}

template <class T>
void MlpTwin<T>::set_parameters(std::size_t l, const T* weight, const T* bias) {
    Layer<T>& layer = layers_.at(l);
    std::copy(weight, weight + layer.weight.size(), layer.weight.begin());
    std::copy(bias, bias + layer.bias.size(), layer.bias.begin());
}

template <class T>
T MlpTwin<T>::forward(const T* inputs, const std::int64_t* labels, const T* targets) {
    const T* z_previous = inputs;
    for (std::size_t l = 0; l < layers_.size(); ++l) {
        const Layer<T>& layer = layers_[l];
        std::vector<T>& z = outputs_[l];
        gemm(false, true, batch_, layer.out, layer.in, z_previous, layer.weight.data(), z.data());
        for (std::size_t i = 0; i < batch_; ++i) {
            for (std::size_t j = 0; j < layer.out; ++j) z[i * layer.out + j] += layer.bias[j];
        }
        activate(activations_[l], z);
        z_previous = z.data();
    }

    // E and δ(L) before h': ∂E/∂z(L) = factor · (softmax(z) − onehot) or factor · 2 (z − t).
    const T factor = reduction_ == Reduction::mean ? T(1) / T(batch_)
                     : reduction_ == Reduction::sum ? T(1) : T(0.5);
    const std::size_t classes = layers_.back().out;
    const std::vector<T>& z = outputs_.back();
    std::vector<T>& delta = deltas_.back();
    T total = 0;
    for (std::size_t i = 0; i < batch_; ++i) {
        const T* row = z.data() + i * classes;
        T* grad = delta.data() + i * classes;
        if (loss_ == Loss::cross_entropy) {
            const T max = *std::max_element(row, row + classes);
            T sum = 0;
            for (std::size_t j = 0; j < classes; ++j) sum += std::exp(row[j] - max);
            const T lse = max + std::log(sum);
            total += lse - row[labels[i]];
            for (std::size_t j = 0; j < classes; ++j) grad[j] = factor * std::exp(row[j] - lse);
            grad[labels[i]] -= factor;
        } else {
            const T* target = targets + i * classes;
            for (std::size_t j = 0; j < classes; ++j) {
                const T difference = row[j] - target[j];
                total += difference * difference;
                grad[j] = T(2) * factor * difference;
            }
        }
    }
    return factor * total;
}

template <class T>
void MlpTwin<T>::backward(const T* inputs) {
    for (std::size_t l = layers_.size(); l-- > 0;) {
        Layer<T>& layer = layers_[l];
        std::vector<T>& delta = deltas_[l];
        times_derivative(activations_[l], outputs_[l], delta);        // δ(l)
        const T* z_previous = l == 0 ? inputs : outputs_[l - 1].data();
        gemm(true, false, layer.out, layer.in, batch_, delta.data(), z_previous,
             layer.grad_weight.data());                                 // δ(l)ᵀ z(l−1)
        std::fill(layer.grad_bias.begin(), layer.grad_bias.end(), T(0));
        for (std::size_t i = 0; i < batch_; ++i) {
            for (std::size_t j = 0; j < layer.out; ++j) layer.grad_bias[j] += delta[i * layer.out + j];
        }
        if (l > 0) {                                                    // W(l)ᵀ δ(l), batched
            gemm(false, false, batch_, layer.in, layer.out, delta.data(), layer.weight.data(),
                 deltas_[l - 1].data());
        }
    }
}

template <class T>
void MlpTwin<T>::sgd_update(T lr) {
    for (Layer<T>& layer : layers_) {
        for (std::size_t i = 0; i < layer.weight.size(); ++i) layer.weight[i] -= lr * layer.grad_weight[i];
        for (std::size_t i = 0; i < layer.bias.size(); ++i) layer.bias[i] -= lr * layer.grad_bias[i];
    }
}

template <class T>
T MlpTwin<T>::train_step(const T* inputs, const std::int64_t* labels, const T* targets, T lr) {
    const T loss = forward(inputs, labels, targets);
    backward(inputs);
    sgd_update(lr);
    return loss;
}

template <class T>
double MlpTwin<T>::flops_per_step() const {
    double flops = 0;
    for (std::size_t l = 0; l < layers_.size(); ++l) {
        const double products = l == 0 ? 2 : 3;
        flops += products * 2.0 * double(batch_) * double(layers_[l].in) * double(layers_[l].out);
    }
    return flops;
}

template <class T>
std::size_t MlpTwin<T>::bytes() const {
    std::size_t count = 0;
    for (const Layer<T>& layer : layers_) count += 2 * (layer.weight.size() + layer.bias.size());
    for (std::size_t l = 0; l < layers_.size(); ++l) count += outputs_[l].size() + deltas_[l].size();
    return count * sizeof(T);
}

template class MlpTwin<float>;
template class MlpTwin<double>;

}  // namespace xgrad::twin
