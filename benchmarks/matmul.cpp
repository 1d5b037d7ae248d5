// matmul through autograd against the same three BLAS gemm calls written by hand:
// forward Y = X Wᵀ, backward dX = G W and dW = Gᵀ X. Shapes of a 784-128 layer, batch 32 and 256.

#include <benchmark/benchmark.h>

#include <xtensor-blas/xblas.hpp>

#include <autograd/autograd.hpp>

using namespace xgrad;

namespace {

struct Layer {
    Tensor x, w, g;
    explicit Layer(std::size_t batch) {
        Generator generator(1);
        x = randn({batch, 784}, generator).set_requires_grad();
        w = randn({128, 784}, generator).set_requires_grad();
        g = randn({batch, 128}, generator);
    }
};

// The hand-written twin: three gemm calls into preallocated outputs.
struct Raw {
    xt::xarray<float> y, dx, dw;
    void step(const Layer& l) {
        const auto& x = l.x.value<float>();
        const auto& w = l.w.value<float>();
        const auto& g = l.g.value<float>();
        y.resize({x.shape()[0], w.shape()[0]});
        dx.resize(x.shape());
        dw.resize(w.shape());
        xt::blas::gemm(x, w, y, false, true);
        xt::blas::gemm(g, w, dx, false, false);
        xt::blas::gemm(g, x, dw, true, false);
    }
};

void autograd_step(Layer& l) {
    l.x.set_grad(Tensor());
    l.w.set_grad(Tensor());
    matmul(l.x, l.w, false, true).backward(l.g);
}

bool same_results(std::size_t batch) {
    Layer layer(batch);
    Raw raw;
    raw.step(layer);
    autograd_step(layer);
    const auto close = [](const xt::xarray<float>& a, const xt::xarray<float>& b) {
        return xt::allclose(a, b, 1e-4, 1e-3);
    };
    return close(layer.x.grad().value<float>(), raw.dx) && close(layer.w.grad().value<float>(), raw.dw);
}

void matmul_layer_autograd(benchmark::State& state) {
    const auto batch = static_cast<std::size_t>(state.range(0));
    if (!same_results(batch)) return state.SkipWithError("autograd and raw gemm disagree");
    Layer layer(batch);
    for (auto _ : state) autograd_step(layer);
}

void matmul_layer_raw_gemm(benchmark::State& state) {
    const auto batch = static_cast<std::size_t>(state.range(0));
    if (!same_results(batch)) return state.SkipWithError("autograd and raw gemm disagree");
    Layer layer(batch);
    Raw raw;
    for (auto _ : state) raw.step(layer);
}

}  // namespace

BENCHMARK(matmul_layer_autograd)->Arg(32)->Arg(256)->Unit(benchmark::kMicrosecond);
BENCHMARK(matmul_layer_raw_gemm)->Arg(32)->Arg(256)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
