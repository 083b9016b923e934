// gpu-emulator: runs one kernel of kernels/ on the CPU over raw little-endian f32 files.
//
//   gpu-emulator API mscn H W C SYMMETRIC GRID_X GRID_Y BLOCK SRC WINDOW OUT
//   gpu-emulator API paired-stats W PH PW WRAP GRID_X GRID_Y BLOCK SRC OUT
//
// API is cuda or metal (metal ignores SYMMETRIC). OUT gets H*W values (mscn) or
// GRID_X*GRID_Y*25 (paired-stats: 5 maps x 5 statistics per patch, patches row-major).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kernels.h"

namespace {

[[noreturn]] void fail(const std::string& why) {
    std::fprintf(stderr, "gpu-emulator: %s\n", why.c_str());
    std::exit(2);
}

long number(const char* text) {
    char* end = nullptr;
    long v = std::strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0') fail(std::string("not an integer: ") + text);
    return v;
}

std::vector<float> read_floats(const char* path, size_t expected) {
    FILE* f = std::fopen(path, "rb");
    if (!f) fail(std::string("cannot open ") + path);
    std::vector<float> v(expected + 1);
    size_t n = std::fread(v.data(), sizeof(float), v.size(), f);
    std::fclose(f);
    if (n != expected) fail(std::string(path) + ": expected " + std::to_string(expected) +
                            " f32 values, found " + std::to_string(n));
    v.resize(expected);
    return v;
}

void write_floats(const char* path, const std::vector<float>& v) {
    FILE* f = std::fopen(path, "wb");
    if (!f || std::fwrite(v.data(), sizeof(float), v.size(), f) != v.size())
        fail(std::string("cannot write ") + path);
    std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) fail("usage: gpu-emulator (cuda|metal) (mscn|paired-stats) ARGS... (see main.cpp)");
    std::string api = argv[1], kernel = argv[2];
    bool is_cuda = api == "cuda";
    if (!is_cuda && api != "metal") fail("unknown API " + api);
    if (kernel == "mscn" && argc == 13) {
        int h = number(argv[3]), w = number(argv[4]);
        float c = std::strtof(argv[5], nullptr);
        int symmetric = number(argv[6]);
        LaunchShape l{(unsigned)number(argv[7]), (unsigned)number(argv[8]), (unsigned)number(argv[9])};
        auto src = read_floats(argv[10], (size_t)h * w);
        auto window = read_floats(argv[11], 7);
        // NaN marks every value no thread wrote.
        std::vector<float> out((size_t)h * w, std::nanf(""));
        if (is_cuda) cuda::mscn(l, src.data(), out.data(), window.data(), c, h, w, symmetric);
        else metal_api::mscn(l, src.data(), out.data(), window.data(), c, h, w);
        write_floats(argv[12], out);
        return 0;
    }
    if (kernel == "paired-stats" && argc == 12) {
        int w = number(argv[3]), ph = number(argv[4]), pw = number(argv[5]), wrap = number(argv[6]);
        LaunchShape l{(unsigned)number(argv[7]), (unsigned)number(argv[8]), (unsigned)number(argv[9])};
        size_t rows = l.grid_y, h = rows * ph;
        auto m = read_floats(argv[10], h * w);
        std::vector<float> out((size_t)l.grid_x * l.grid_y * 25, std::nanf(""));
        if (is_cuda) cuda::paired_stats(l, m.data(), out.data(), w, ph, pw, wrap);
        else metal_api::paired_stats(l, m.data(), out.data(), w, ph, pw, wrap);
        write_floats(argv[11], out);
        return 0;
    }
    fail("bad arguments for " + kernel + " (see kernels/emulate/main.cpp)");
}
