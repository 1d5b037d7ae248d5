#include "optim.hpp"

#include <cmath>
#include <map>
#include <set>
#include <sstream>

namespace xgrad::nn {

namespace {

/// A double as a message prints it: "-0.1", "1e-08", "nan".
std::string number(double value) {
    std::ostringstream out;
    out << value;
    return out.str();
}

/// Throws "<op>: <what> must be <rule>, got <value>" unless `ok`.
void require(bool ok, const std::string& op, const char* what, const char* rule, double value) {
    if (!ok) throw value_error(op + ": " + what + " must be " + rule + ", got " + number(value));
}

void check_lr(const std::string& op, double lr) {
    require(std::isfinite(lr) && lr >= 0.0, op, "lr", "finite and >= 0", lr);
}

void check_weight_decay(const std::string& op, double weight_decay) {
    require(std::isfinite(weight_decay) && weight_decay >= 0.0, op, "weight_decay",
            "finite and >= 0", weight_decay);
}

/// Calls f(T{}) with T the scalar type of `dtype` (float or double).
template <class F>
void dispatch(Dtype dtype, F&& f) {
    if (dtype == Dtype::float32) {
        f(float{});
    } else {
        f(double{});
    }
}

std::string param_key(std::size_t index, const std::string& slot) {
    return "param." + std::to_string(index) + "." + slot;
}

const SGDOptions& checked(const SGDOptions& options) {
    const std::string op = "SGD";
    require(std::isfinite(options.momentum) && options.momentum >= 0.0, op, "momentum",
            "finite and >= 0", options.momentum);
    require(options.dampening >= 0.0 && options.dampening <= 1.0, op, "dampening",
            "in [0, 1]", options.dampening);
    check_weight_decay(op, options.weight_decay);
    if (options.nesterov && (options.momentum <= 0.0 || options.dampening != 0.0)) {
        throw value_error("SGD: nesterov needs momentum > 0 and dampening == 0, got momentum " +
                          number(options.momentum) + ", dampening " + number(options.dampening));
    }
    return options;
}

const AdamOptions& checked(const std::string& op, const AdamOptions& options) {
    require(options.beta1 >= 0.0 && options.beta1 < 1.0, op, "beta1", "in [0, 1)", options.beta1);
    require(options.beta2 >= 0.0 && options.beta2 < 1.0, op, "beta2", "in [0, 1)", options.beta2);
    require(std::isfinite(options.eps) && options.eps > 0.0, op, "eps", "finite and > 0",
            options.eps);
    check_weight_decay(op, options.weight_decay);
    return options;
}

}  // namespace

// ---- Optimizer ------------------------------------------------------------------------------

Optimizer::Optimizer(std::string name, std::vector<Tensor> parameters, double lr,
                     std::vector<std::string> buffer_names)
    : name_(std::move(name)), parameters_(std::move(parameters)), lr_(lr),
      buffer_names_(std::move(buffer_names)) {
    check_lr(name_, lr);
    if (parameters_.empty()) throw value_error(name_ + ": the parameter list is empty");
    std::set<const Storage*> seen;
    for (std::size_t i = 0; i < parameters_.size(); ++i) {
        const std::string which = name_ + ": parameter " + std::to_string(i);
        if (!parameters_[i].defined()) throw value_error(which + " is undefined");
        if (!seen.insert(parameters_[i].storage().get()).second) {
            throw value_error(which + " shares its storage with an earlier parameter");
        }
    }
    for (const Tensor& parameter : parameters_) {
        std::vector<Tensor> buffers;
        for (std::size_t slot = 0; slot < buffer_names_.size(); ++slot) {
            buffers.push_back(zeros_like(parameter));
        }
        buffers_.push_back(std::move(buffers));
    }
    update_counts_.assign(parameters_.size(), 0);
}

void Optimizer::step() {
    NoGradGuard no_grad;
    for (std::size_t i = 0; i < parameters_.size(); ++i) {
        if (!parameters_[i].grad().defined()) continue;
        update(i, ++update_counts_[i]);
    }
    ++step_count_;
}

void Optimizer::zero_grad() {
    for (Tensor& parameter : parameters_) parameter.set_grad(Tensor());
}

void Optimizer::set_learning_rate(double lr) {
    check_lr(name_ + ".set_learning_rate", lr);
    lr_ = lr;
}

NamedTensors Optimizer::state() const {
    NamedTensors state;
    state.emplace_back("step", scalar(static_cast<double>(step_count_), Dtype::float64));
    state.emplace_back("lr", scalar(lr_, Dtype::float64));
    for (std::size_t i = 0; i < parameters_.size(); ++i) {
        state.emplace_back(param_key(i, "step"),
                           scalar(static_cast<double>(update_counts_[i]), Dtype::float64));
        for (std::size_t slot = 0; slot < buffer_names_.size(); ++slot) {
            state.emplace_back(param_key(i, buffer_names_[slot]), buffers_[i][slot].clone());
        }
    }
    return state;
}

void Optimizer::load_state(const NamedTensors& state) {
    std::vector<std::string> problems;
    std::map<std::string, Tensor> remaining;
    for (const auto& [key, tensor] : state) {
        if (!remaining.emplace(key, tensor).second) {
            problems.push_back("duplicate key '" + key + "'");
        }
    }
    // Removes `key` from `remaining`; records a problem and returns undefined if absent.
    auto take = [&](const std::string& key) {
        auto found = remaining.find(key);
        if (found == remaining.end()) {
            problems.push_back("missing '" + key + "'");
            return Tensor();
        }
        Tensor tensor = found->second;
        remaining.erase(found);
        if (!tensor.defined()) problems.push_back("'" + key + "' is undefined");
        return tensor;
    };
    // A 0-d tensor holding a number that `valid` accepts; `rule` describes it.
    auto take_scalar = [&](const std::string& key, bool (*valid)(double), const char* rule) {
        const Tensor tensor = take(key);
        if (!tensor.defined()) return 0.0;
        if (tensor.dim() != 0) {
            problems.push_back("'" + key + "' must be 0-d, got shape " + shape_str(tensor.shape()));
            return 0.0;
        }
        const double value = tensor.item();
        if (!valid(value)) {
            problems.push_back("'" + key + "' must be " + rule + ", got " + number(value));
        }
        return value;
    };
    auto is_count = [](double value) {
        return value >= 0.0 && value <= 9007199254740992.0 && std::floor(value) == value;
    };
    auto is_lr = [](double value) { return std::isfinite(value) && value >= 0.0; };

    const double step_count = take_scalar("step", is_count, "a count (integer >= 0)");
    const double lr = take_scalar("lr", is_lr, "finite and >= 0");
    std::vector<double> update_counts(parameters_.size());
    std::vector<std::vector<Tensor>> buffers(parameters_.size());
    for (std::size_t i = 0; i < parameters_.size(); ++i) {
        update_counts[i] = take_scalar(param_key(i, "step"), is_count, "a count (integer >= 0)");
        const Tensor& parameter = parameters_[i];
        for (const std::string& buffer_name : buffer_names_) {
            const std::string key = param_key(i, buffer_name);
            const Tensor tensor = take(key);
            if (tensor.defined() &&
                (tensor.shape() != parameter.shape() || tensor.dtype() != parameter.dtype())) {
                problems.push_back("'" + key + "' is " + dtype_name(tensor.dtype()) +
                                   shape_str(tensor.shape()) + ", expected " +
                                   dtype_name(parameter.dtype()) + shape_str(parameter.shape()));
            }
            buffers[i].push_back(tensor);
        }
    }
    for (const auto& [key, tensor] : remaining) problems.push_back("unexpected key '" + key + "'");

    if (!problems.empty()) {
        std::string message = name_ + ".load_state: " + std::to_string(problems.size()) +
                              " problem(s), the state was not changed: ";
        for (std::size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
        throw value_error(message);
    }
    step_count_ = static_cast<std::uint64_t>(step_count);
    lr_ = lr;
    for (std::size_t i = 0; i < parameters_.size(); ++i) {
        update_counts_[i] = static_cast<std::uint64_t>(update_counts[i]);
        for (std::size_t slot = 0; slot < buffer_names_.size(); ++slot) {
            buffers_[i][slot] = buffers[i][slot].clone();
        }
    }
}

// ---- SGD ------------------------------------------------------------------------------------

SGD::SGD(std::vector<Tensor> parameters, double lr, double momentum, double dampening,
         double weight_decay, bool nesterov)
    : SGD(std::move(parameters), SGDOptions{lr, momentum, dampening, weight_decay, nesterov}) {}

SGD::SGD(std::vector<Tensor> parameters, const SGDOptions& options)
    : Optimizer("SGD", std::move(parameters), checked(options).lr,
                options.momentum != 0.0 ? std::vector<std::string>{"momentum_buffer"}
                                        : std::vector<std::string>{}),
      options_(options) {}

void SGD::update(std::size_t index, std::uint64_t count) {
    Tensor& param = parameter(index);
    const Tensor& grad = param.grad();
    dispatch(param.dtype(), [&](auto zero) {
        using T = decltype(zero);
        const T lr = static_cast<T>(learning_rate());
        const T momentum = static_cast<T>(options_.momentum);
        const T dampening = static_cast<T>(options_.dampening);
        const T weight_decay = static_cast<T>(options_.weight_decay);
        const bool first = count == 1;
        const T* g = grad.value<T>().data();
        T* p = param.mutable_value<T>().data();
        T* buf = momentum != 0 ? buffer(index, 0).mutable_value<T>().data() : nullptr;
        const std::size_t size = param.size();  // hoisted: size() is an out-of-line visit
        if (buf == nullptr && weight_decay == 0) {  // plain SGD: a loop the compiler vectorises
            for (std::size_t k = 0; k < size; ++k) p[k] -= lr * g[k];
            return;
        }
        const bool nesterov = options_.nesterov;
        for (std::size_t k = 0; k < size; ++k) {
            T d_p = g[k];
            if (weight_decay != 0) d_p += weight_decay * p[k];
            if (buf != nullptr) {
                buf[k] = first ? d_p : momentum * buf[k] + (1 - dampening) * d_p;
                d_p = nesterov ? d_p + momentum * buf[k] : buf[k];
            }
            p[k] -= lr * d_p;
        }
    });
}

// ---- Adam, AdamW ----------------------------------------------------------------------------

Adam::Adam(std::vector<Tensor> parameters, double lr, double beta1, double beta2, double eps,
           double weight_decay)
    : Adam("Adam", std::move(parameters), AdamOptions{lr, beta1, beta2, eps, weight_decay},
           false) {}

Adam::Adam(std::vector<Tensor> parameters, const AdamOptions& options)
    : Adam("Adam", std::move(parameters), options, false) {}

Adam::Adam(std::string name, std::vector<Tensor> parameters, const AdamOptions& options,
           bool decoupled)
    : Optimizer(name, std::move(parameters), checked(name, options).lr, {"exp_avg", "exp_avg_sq"}),
      options_(options), decoupled_(decoupled) {}

void Adam::update(std::size_t index, std::uint64_t count) {
    Tensor& param = parameter(index);
    const Tensor& grad = param.grad();
    const double t = static_cast<double>(count);
    const double bias_correction1 = 1.0 - std::pow(options_.beta1, t);
    const double bias_correction2 = 1.0 - std::pow(options_.beta2, t);
    dispatch(param.dtype(), [&](auto zero) {
        using T = decltype(zero);
        const T beta1 = static_cast<T>(options_.beta1);
        const T beta2 = static_cast<T>(options_.beta2);
        const T eps = static_cast<T>(options_.eps);
        const T l2 = decoupled_ ? T(0) : static_cast<T>(options_.weight_decay);
        const T decay =
            static_cast<T>(decoupled_ ? 1.0 - learning_rate() * options_.weight_decay : 1.0);
        const T step_size = static_cast<T>(learning_rate() / bias_correction1);
        const T bias_correction2_sqrt = static_cast<T>(std::sqrt(bias_correction2));
        const T* g = grad.value<T>().data();
        T* p = param.mutable_value<T>().data();
        T* m = buffer(index, 0).mutable_value<T>().data();
        T* v = buffer(index, 1).mutable_value<T>().data();
        const std::size_t size = param.size();  // hoisted: size() is an out-of-line visit
        for (std::size_t k = 0; k < size; ++k) {
            T g_k = g[k];
            if (l2 != 0) g_k += l2 * p[k];
            if (decay != 1) p[k] *= decay;
            m[k] = beta1 * m[k] + (1 - beta1) * g_k;
            v[k] = beta2 * v[k] + (1 - beta2) * g_k * g_k;
            const T denom = std::sqrt(v[k]) / bias_correction2_sqrt + eps;
            p[k] -= step_size * (m[k] / denom);
        }
    });
}

AdamW::AdamW(std::vector<Tensor> parameters, double lr, double beta1, double beta2, double eps,
             double weight_decay)
    : Adam("AdamW", std::move(parameters), AdamOptions{lr, beta1, beta2, eps, weight_decay},
           true) {}

AdamW::AdamW(std::vector<Tensor> parameters, const AdamWOptions& options)
    : AdamW(std::move(parameters), options.lr, options.beta1, options.beta2, options.eps,
            options.weight_decay) {}

// ---- Gradient clipping ----------------------------------------------------------------------

double clip_grad_norm(const std::vector<Tensor>& parameters, double max_norm) {
    require(max_norm >= 0.0, "clip_grad_norm", "max_norm", ">= 0", max_norm);
    double sum_of_squares = 0.0;
    for (const Tensor& parameter : parameters) {
        const Tensor& grad = parameter.grad();
        if (!grad.defined()) continue;
        visit(grad, [&](const auto& array) {
            for (const auto x : array) sum_of_squares += static_cast<double>(x) * x;
        });
    }
    const double norm = std::sqrt(sum_of_squares);
    if (!std::isfinite(norm)) {
        throw value_error("clip_grad_norm: the total gradient norm is " + number(norm) +
                          ", not finite; the gradients were left unchanged");
    }
    if (norm <= max_norm) return norm;
    const double scale = max_norm / norm;
    NoGradGuard no_grad;
    for (const Tensor& parameter : parameters) {
        Tensor grad = parameter.grad();
        if (!grad.defined()) continue;
        dispatch(grad.dtype(), [&](auto zero) {
            using T = decltype(zero);
            grad.mutable_value<T>() *= static_cast<T>(scale);
        });
    }
    return norm;
}

}  // namespace xgrad::nn
