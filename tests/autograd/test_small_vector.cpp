// SmallVector: inline storage up to N, the heap beyond, and element lifetimes that match
// std::vector's (a node's edges are shared_ptrs, so a destroyed slot must release its node).

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include <autograd/small_vector.hpp>

using xgrad::SmallVector;

namespace {
bool is_inline(const SmallVector<std::string, 2>& v) {
    const auto* begin = reinterpret_cast<const unsigned char*>(&v);
    const auto* data = reinterpret_cast<const unsigned char*>(v.data());
    return data >= begin && data < begin + sizeof(v);
}
}  // namespace

TEST_CASE("elements stay in order across the move from inline storage to the heap") {
    SmallVector<std::string, 2> v;
    v.push_back("a");
    v.push_back("b");
    CHECK(is_inline(v));
    v.push_back("c");
    v.emplace_back(3, 'd');
    CHECK_FALSE(is_inline(v));
    REQUIRE(v.size() == 4);
    CHECK(v[0] == "a");
    CHECK(v[1] == "b");
    CHECK(v[2] == "c");
    CHECK(v.back() == "ddd");
    CHECK(std::vector<std::string>(v.begin(), v.end()) == std::vector<std::string>{"a", "b", "c", "ddd"});
}

TEST_CASE("pop_back, clear and destruction release what the elements own") {
    const auto owned = std::make_shared<int>(7);
    {
        SmallVector<std::shared_ptr<int>, 2> v{owned, owned, owned};
        CHECK(owned.use_count() == 4);
        v.pop_back();
        CHECK(owned.use_count() == 3);
        v.clear();
        CHECK(owned.use_count() == 1);
        CHECK(v.empty());
        v.push_back(owned);
        CHECK(owned.use_count() == 2);
    }
    CHECK(owned.use_count() == 1);
}

TEST_CASE("copies are deep and moves leave the source empty, inline or on the heap") {
    for (std::size_t count : {1, 2, 5}) {
        CAPTURE(count);
        SmallVector<std::string, 2> source;
        for (std::size_t i = 0; i < count; ++i) source.push_back(std::to_string(i));

        SmallVector<std::string, 2> copy(source);
        REQUIRE(copy.size() == count);
        copy[0] = "changed";
        CHECK(source[0] == "0");

        SmallVector<std::string, 2> moved(std::move(source));
        CHECK(source.empty());  // NOLINT(bugprone-use-after-move): the moved-from state is specified
        REQUIRE(moved.size() == count);
        CHECK(moved[count - 1] == std::to_string(count - 1));

        SmallVector<std::string, 2> assigned{"x", "y", "z"};
        assigned = moved;
        CHECK(assigned.size() == count);
        assigned = std::move(copy);
        CHECK(assigned[0] == "changed");
        CHECK(copy.empty());  // NOLINT(bugprone-use-after-move)
        const auto& same = assigned;
        assigned = same;  // self-assignment keeps the contents
        CHECK(assigned.size() == count);
    }
}

TEST_CASE("built from a std::vector, an initializer list or a count") {
    const SmallVector<std::string, 2> from_vector(std::vector<std::string>{"p", "q", "r"});
    CHECK(from_vector.size() == 3);
    CHECK(from_vector[2] == "r");
    const SmallVector<int, 2> zeros(4);
    CHECK(std::vector<int>(zeros.begin(), zeros.end()) == std::vector<int>{0, 0, 0, 0});
    const SmallVector<int, 2> listed{5, 6};
    CHECK(listed[1] == 6);
}
