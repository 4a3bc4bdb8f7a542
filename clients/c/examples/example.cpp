// Calling the validator from C++: the header is plain C with extern "C", so nothing else is needed.
// Usage: example_cpp VECTORS_DIR (checks vector valid/perpetual from tests/vectors/).
#include "license_validator.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

namespace {
struct KeyringFree {
    void operator()(license_keyring *kr) const { license_keyring_free(kr); }
};
using Keyring = std::unique_ptr<license_keyring, KeyringFree>;

Keyring load_keyring(const std::string &path)
{
    std::ifstream file(path, std::ios::binary);
    std::stringstream text;
    text << file.rdbuf();
    const std::string json = text.str();
    license_keyring *kr = nullptr;
    license_doc_status status = license_keyring_parse(json.data(), json.size(), &kr);
    if (status != LICENSE_DOC_OK)
        std::cerr << path << ": " << license_doc_status_message(status) << "\n";
    return Keyring(kr);
}
}  // namespace

int main(int argc, char **argv)
{
    const std::string dir = argc > 1 ? argv[1] : "tests/vectors";
    Keyring keyring = load_keyring(dir + "/keyring.json");
    if (!keyring)
        return 2;
    const std::string key =
        "041G0080-000000Z9-VDAJA9R0-00000001-00000NM5-V5FFPM0K-E9EM39QR-XWQJXGJK-6DHZWHVA-"
        "EG4TE8VF-HG22XRRQ-EPB26C4X-JCGEZ76G-07BWKAKY-AQ30YC6P-PHAW18AW-N22FQ1W8-EW78H1G";
    const int64_t now = 1781524800;  // 2026-06-15T12:00:00Z; a program passes time(nullptr)
    license_info license{};
    license_reason reason = license_validate(key.c_str(), "alice@example.com", 1, keyring.get(), now, 0, nullptr, &license);
    if (reason != LICENSE_OK) {
        std::cout << "not valid: " << license_reason_name(reason) << " (" << license_reason_message(reason) << ")\n";
        return 1;
    }
    char issued[11];
    license_format_day(license.issued, issued);
    std::cout << "valid: product " << license.product << ", " << license.seats << " seat(s), issued " << issued
              << (license.expires ? "" : ", perpetual") << "\n";
    // The same key for another address is a genuine key for someone else.
    reason = license_validate(key.c_str(), "mallory@example.com", 1, keyring.get(), now, 0, nullptr, &license);
    std::cout << "for another address: " << license_reason_name(reason) << "\n";
    return reason == LICENSE_EMAIL_MISMATCH ? 0 : 1;
}
