// The chain-rule example from the lecture notes, done by autograd.
//
//     u(x, y) = x² + 2y,   x(r, t) = r sin t,   y(r, t) = sin² t
//
// By hand: ∂u/∂r = 2x sin t = 2r sin² t and ∂u/∂t = 2x r cos t + 2 · 2 sin t cos t
// = (r² + 2) sin 2t. Autograd gets the same numbers by recording each operation in the forward
// pass and applying the chain rule node by node in one backward pass. Note that t reaches u
// along two paths (through x and through y): backward adds the two contributions.

#include <cmath>
#include <iomanip>
#include <iostream>

#include <autograd/autograd.hpp>

using xgrad::Tensor;
using xgrad::sin;

int main() {
    std::cout << std::setprecision(12);
    const double points[][2] = {{1.5, 0.7}, {-0.8, 2.3}};
    for (const auto& point : points) {
        const double r_value = point[0], t_value = point[1];
        // Leaves: the variables we differentiate with respect to.
        Tensor r = xgrad::scalar(r_value, xgrad::Dtype::float64).set_requires_grad();
        Tensor t = xgrad::scalar(t_value, xgrad::Dtype::float64).set_requires_grad();

        // Forward pass: every operation is recorded in the graph.
        const Tensor x = r * sin(t);
        const Tensor y = sin(t) * sin(t);
        const Tensor u = x * x + 2.0 * y;

        // Backward pass: fills r.grad() and t.grad() with ∂u/∂r and ∂u/∂t.
        u.backward();

        const double sin_t = std::sin(t_value);
        const double du_dr = 2 * r_value * sin_t * sin_t;
        const double du_dt = (r_value * r_value + 2) * std::sin(2 * t_value);
        std::cout << "r = " << r_value << ", t = " << t_value << ", u = " << u.item() << "\n"
                  << "  du/dr  autograd " << r.grad().item() << "  closed form " << du_dr << "\n"
                  << "  du/dt  autograd " << t.grad().item() << "  closed form " << du_dt << "\n";
    }
}
