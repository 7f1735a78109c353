#include "models/formats/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "models/formats/format_error.h"

namespace hearth {

namespace {

struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

std::string errnoText() { return std::strerror(errno); }

}  // namespace

MappedFile::MappedFile(const std::filesystem::path& path) {
    const std::string name = path.string();
    Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (f.fd < 0) throw FormatError(name + ": cannot open: " + errnoText());
    struct stat st {};
    if (::fstat(f.fd, &st) != 0) throw FormatError(name + ": cannot stat: " + errnoText());
    if (S_ISDIR(st.st_mode)) throw FormatError(name + ": is a directory, expected a file");
    if (!S_ISREG(st.st_mode)) throw FormatError(name + ": is not a regular file");
    size_ = static_cast<uint64_t>(st.st_size);
    if (size_ == 0) return;
    void* p = ::mmap(nullptr, static_cast<size_t>(size_), PROT_READ, MAP_PRIVATE, f.fd, 0);
    if (p == MAP_FAILED) throw FormatError(name + ": cannot map into memory: " + errnoText());
    data_ = static_cast<const uint8_t*>(p);
    mapped_ = true;
}

MappedFile::MappedFile(MappedFile&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)),
      mapped_(std::exchange(o.mapped_, false)) {}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
    if (this != &o) {
        release();
        data_ = std::exchange(o.data_, nullptr);
        size_ = std::exchange(o.size_, 0);
        mapped_ = std::exchange(o.mapped_, false);
    }
    return *this;
}

MappedFile::~MappedFile() { release(); }

void MappedFile::release() noexcept {
    if (mapped_) ::munmap(const_cast<uint8_t*>(data_), static_cast<size_t>(size_));
    data_ = nullptr;
    size_ = 0;
    mapped_ = false;
}

}  // namespace hearth
