#pragma once
// Text that must not outlive its use: an SRTP key as the SIP server sent it.
// Every copy wipes its own characters when it goes (or is overwritten), so a
// key does not linger in freed heap memory after its leg is removed. It has
// no stream or fmt output on purpose: keys never reach a log.

#include <string>
#include <string_view>
#include <utility>

namespace earshot::control {

class SecretText {
 public:
  SecretText() = default;
  explicit SecretText(std::string_view text) : text_(text) {}
  SecretText(const SecretText& other) : text_(other.text_) {}
  SecretText(SecretText&& other) noexcept : text_(std::move(other.text_)) { other.Wipe(); }
  SecretText& operator=(const SecretText& other) {
    if (this != &other) {
      Wipe();
      text_ = other.text_;
    }
    return *this;
  }
  SecretText& operator=(SecretText&& other) noexcept {
    if (this != &other) {
      Wipe();
      text_ = std::move(other.text_);
      other.Wipe();
    }
    return *this;
  }
  ~SecretText() { Wipe(); }

  bool empty() const { return text_.empty(); }
  // For the one place that needs the key: parsing it.
  std::string_view reveal() const { return text_; }

  friend bool operator==(const SecretText& a, const SecretText& b) { return a.text_ == b.text_; }

 private:
  void Wipe() noexcept {
    // volatile so that the stores are not dropped as dead before the free.
    volatile char* bytes = text_.data();
    for (size_t i = 0; i < text_.capacity(); ++i) bytes[i] = 0;
    text_.clear();
  }

  std::string text_;
};

}  // namespace earshot::control
