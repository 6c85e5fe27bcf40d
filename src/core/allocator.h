#pragma once
// Host allocator settings for tensor work. glibc serves every allocation above its mmap
// threshold (at most 32 MiB by default) with a fresh mmap and returns it with munmap on free, so
// a CPU training step that allocates a few tensors the size of a 151,936-token embedding (39 MB
// in float32) pays page faults and kernel zeroing for each of them, every step: measured on the
// demo's SFT step, 0.50 s with more kernel than user time -> 0.26 s with the settings below.
namespace balcap {

// Keeps large blocks in the heap (mmap threshold 1 GiB, trim threshold 1 GiB, 256 MiB top pad) so
// freed tensor memory is reused instead of unmapped. glibc only; a no-op elsewhere. Call once at
// startup, before the first tensor.
void tune_host_allocator();

}  // namespace balcap
