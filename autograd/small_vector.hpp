#pragma once
/// SmallVector: a vector that holds its first N elements inline, without a heap allocation.
/// A node's inputs and saved values, and the gradients a backward rule returns, are one to
/// three tensors almost always; a std::vector for each was two allocations per recorded op.
/// (xt::svector is not used: it keeps N constructed elements and pop_back() or clear() does not
/// destroy them, which would keep shared_ptr edges of the graph alive.)

#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <initializer_list>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace xgrad {

template <class T, std::size_t N>
class SmallVector {
    static_assert(N > 0);

public:
    using value_type = T;
    using size_type = std::size_t;
    using iterator = T*;
    using const_iterator = const T*;

    SmallVector() noexcept = default;
    /// `count` value-initialised elements.
    explicit SmallVector(size_type count) {
        reserve(count);
        for (size_type i = 0; i < count; ++i) emplace_back();
    }
    SmallVector(std::initializer_list<T> values) {
        reserve(values.size());
        for (const T& value : values) emplace_back(value);
    }
    /// From a std::vector (implicit: a backward rule may still return std::vector<Tensor>).
    SmallVector(std::vector<T>&& values) {
        reserve(values.size());
        for (T& value : values) emplace_back(std::move(value));
    }
    SmallVector(const SmallVector& other) {
        reserve(other.size_);
        for (const T& value : other) emplace_back(value);
    }
    SmallVector(SmallVector&& other) noexcept { take(std::move(other)); }
    SmallVector& operator=(const SmallVector& other) {
        if (this != &other) {
            SmallVector copy(other);
            clear_and_free();
            take(std::move(copy));
        }
        return *this;
    }
    SmallVector& operator=(SmallVector&& other) noexcept {
        if (this != &other) {
            clear_and_free();
            take(std::move(other));
        }
        return *this;
    }
    ~SmallVector() { clear_and_free(); }

    size_type size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    T* data() noexcept { return data_; }
    const T* data() const noexcept { return data_; }
    iterator begin() noexcept { return data_; }
    iterator end() noexcept { return data_ + size_; }
    const_iterator begin() const noexcept { return data_; }
    const_iterator end() const noexcept { return data_ + size_; }
    T& operator[](size_type i) noexcept { return data_[i]; }
    const T& operator[](size_type i) const noexcept { return data_[i]; }
    T& back() noexcept { return data_[size_ - 1]; }
    const T& back() const noexcept { return data_[size_ - 1]; }

    void reserve(size_type capacity) {
        if (capacity <= capacity_) return;
        if (capacity > std::numeric_limits<std::uint32_t>::max()) throw std::length_error("SmallVector: too many elements");
        T* grown = static_cast<T*>(::operator new(capacity * sizeof(T)));
        for (size_type i = 0; i < size_; ++i) {
            ::new (grown + i) T(std::move(data_[i]));
            data_[i].~T();
        }
        if (data_ != inline_data()) ::operator delete(data_);
        data_ = grown;
        capacity_ = static_cast<std::uint32_t>(capacity);
    }

    template <class... Args>
    T& emplace_back(Args&&... args) {
        if (size_ == capacity_) reserve(size_type(capacity_) * 2);
        T* slot = ::new (data_ + size_) T(std::forward<Args>(args)...);
        ++size_;
        return *slot;
    }
    void push_back(const T& value) { emplace_back(value); }
    void push_back(T&& value) { emplace_back(std::move(value)); }
    void pop_back() noexcept { data_[--size_].~T(); }

    /// Destroys the elements (keeps any heap buffer).
    void clear() noexcept {
        while (size_ > 0) pop_back();
    }

private:
    T* inline_data() noexcept { return std::launder(reinterpret_cast<T*>(inline_)); }

    void clear_and_free() noexcept {
        clear();
        if (data_ != inline_data()) {
            ::operator delete(data_);
            data_ = inline_data();
            capacity_ = N;
        }
    }

    // Requires this to be empty with inline storage.
    void take(SmallVector&& other) noexcept {
        if (other.data_ != other.inline_data()) {  // steal the heap buffer
            data_ = other.data_;
            capacity_ = other.capacity_;
            size_ = other.size_;
            other.data_ = other.inline_data();
            other.capacity_ = N;
            other.size_ = 0;
            return;
        }
        for (size_type i = 0; i < other.size_; ++i) {
            ::new (data_ + i) T(std::move(other.data_[i]));
        }
        size_ = other.size_;
        other.clear();
    }

    static_assert(std::is_nothrow_move_constructible_v<T>);
    alignas(T) unsigned char inline_[N * sizeof(T)];
    T* data_ = inline_data();
    std::uint32_t size_ = 0;  // 32 bits each: a node holds two SmallVectors
    std::uint32_t capacity_ = N;
};

}  // namespace xgrad
