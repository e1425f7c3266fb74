// Copying stream payloads between byte buffers and Verilated signals of any
// width (CData..QData, or VlWide for more than 64 bits), byte 0 least
// significant: shared by every C++ testbench (harness.cpp, the IODMA tests).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "verilated.h"

namespace sf_vl {

template <class T>
inline void put_bits(T& sig, const uint8_t* d, int nbytes) {
  uint64_t v = 0;
  std::memcpy(&v, d, (size_t)std::min(nbytes, 8));
  sig = (T)v;
}
template <std::size_t N>
inline void put_bits(VlWide<N>& sig, const uint8_t* d, int nbytes) {
  for (std::size_t w = 0; w < N; ++w) {
    uint32_t v = 0;
    const int off = (int)w * 4;
    if (off < nbytes) std::memcpy(&v, d + off, (size_t)std::min(4, nbytes - off));
    sig[w] = v;
  }
}
template <class T>
inline void get_bits(const T& sig, uint8_t* d, int nbytes) {
  const uint64_t v = (uint64_t)sig;
  std::memcpy(d, &v, (size_t)std::min(nbytes, 8));
}
template <std::size_t N>
inline void get_bits(const VlWide<N>& sig, uint8_t* d, int nbytes) {
  for (std::size_t w = 0; w < N; ++w) {
    const uint32_t v = sig[w];
    const int off = (int)w * 4;
    if (off < nbytes) std::memcpy(d + off, &v, (size_t)std::min(4, nbytes - off));
  }
}

}  // namespace sf_vl
