// test/metal_shim's entry points into a compiled Metal library: GRU_METAL_ENTRY(kernel) defines
// gru_metal_entry_<kernel>(args), which calls the kernel for one thread with each parameter taken
// by its Metal attribute (the device parsed them from the source; `roles` says which is which).
#pragma once
#pragma clang system_header
#include <type_traits>
#include <utility>

struct gru_metal_entry_args {
  void *const *pointers;  // [[buffer(n)]] (with its offset) and [[threadgroup(0)]] parameters
  const int *roles;       // test/metal_shim's Role of each parameter
  unsigned at_group[3], at_thread[3], n_threads[3], n_groups[3];  // (after metal_stdlib: no `thread`)
};

template <typename A>
A gru_metal_arg(const gru_metal_entry_args *a, int i) {
  if constexpr (std::is_pointer_v<A>) {
    return reinterpret_cast<A>(a->pointers[i]);
  } else {
    static_assert(std::is_same_v<A, uint3>, "a position parameter other than uint3");
    const unsigned *v = a->at_group;
    switch (a->roles[i]) {
      case 2: v = a->at_group; break;
      case 3: v = a->at_thread; break;
      case 4: return uint3{a->at_group[0] * a->n_threads[0] + a->at_thread[0],
                           a->at_group[1] * a->n_threads[1] + a->at_thread[1],
                           a->at_group[2] * a->n_threads[2] + a->at_thread[2]};
      case 5: v = a->n_threads; break;
      case 6: v = a->n_groups; break;
    }
    return uint3{v[0], v[1], v[2]};
  }
}

template <typename... A, std::size_t... I>
void gru_metal_call(void (*fn)(A...), const gru_metal_entry_args *a,
                    std::index_sequence<I...>) {
  fn(gru_metal_arg<A>(a, int(I))...);
}

#define GRU_METAL_ENTRY(name)                                                      \
  extern "C" void gru_metal_entry_##name(const gru_metal_entry_args *a) {           \
    gru_metal_call(name, a, std::make_index_sequence<gru_metal_shim_arity(name)>()); \
  }

template <typename... A>
constexpr std::size_t gru_metal_shim_arity(void (*)(A...)) { return sizeof...(A); }
