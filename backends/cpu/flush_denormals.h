// FlushDenormals: flush-to-zero and denormals-are-zero on the calling thread for the guard's
// lifetime (x86; elsewhere it does nothing).
//
// Softmax weights exp(s - max) of keys far below the best one come out subnormal, and on x86 every
// operation that reads or makes a subnormal then takes a microcode assist (~100+ cycles). What the
// flags flush is below 1e-38 of the result. The attention loops set them around their work:
// cpu_backend.cpp's generic loop and the merge of the AVX-512 decode parts.
#pragma once

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#include <xmmintrin.h>
#define HEARTH_FLUSH_DENORMALS_X86 1
#endif

namespace hearth::cpu {

class FlushDenormals {
public:
#if defined(HEARTH_FLUSH_DENORMALS_X86)
    FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFlushToZero | kDenormalsAreZero); }
    ~FlushDenormals() { _mm_setcsr(saved_); }
#else
    FlushDenormals() = default;
#endif
    FlushDenormals(const FlushDenormals&) = delete;
    FlushDenormals& operator=(const FlushDenormals&) = delete;

private:
#if defined(HEARTH_FLUSH_DENORMALS_X86)
    static constexpr unsigned kFlushToZero = 0x8000, kDenormalsAreZero = 0x0040;
    unsigned saved_;
#endif
};

}  // namespace hearth::cpu
