#include "server/domain/phone_verification.h"

#include <algorithm>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/logging.h"
#include "common/sha256.h"
#include "common/status_macros.h"

namespace smsgw::domain {
namespace {

std::string Digest(absl::string_view salt, absl::string_view code) {
  return Sha256(absl::StrCat(salt, code));
}

// A uniform 6-digit code (rejection sampling: no modulo bias).
std::string NewCode() {
  uint32_t value = 0;
  do {
    RAND_bytes(reinterpret_cast<unsigned char*>(&value), sizeof(value));
  } while (value >= 4294000000u);  // 4294 * 10^6: a multiple of 10^6
  return absl::StrFormat("%06u", value % 1000000u);
}

bool IsSixDigits(absl::string_view code) {
  if (code.size() != 6) return false;
  for (char c : code) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

std::string HashVerificationCode(absl::string_view code) {
  unsigned char salt[16];
  RAND_bytes(salt, sizeof(salt));
  const std::string salt_bytes(reinterpret_cast<char*>(salt), sizeof(salt));
  return absl::StrCat(absl::BytesToHexString(salt_bytes), "$",
                      absl::BytesToHexString(Digest(salt_bytes, code)));
}

bool VerificationCodeMatches(absl::string_view code, absl::string_view stored) {
  const size_t dollar = stored.find('$');
  if (dollar == absl::string_view::npos) return false;
  const std::string salt = absl::HexStringToBytes(stored.substr(0, dollar));
  const std::string expected = absl::HexStringToBytes(stored.substr(dollar + 1));
  const std::string actual = Digest(salt, code);
  if (expected.size() != actual.size()) return false;
  return CRYPTO_memcmp(expected.data(), actual.data(), actual.size()) == 0;
}

PhoneVerificationService::PhoneVerificationService(
    storage::UserStore* users, storage::PhoneVerificationStore* store,
    MessagingService* messaging, const PhoneNumberParser* phones, Clock* clock,
    Options options)
    : users_(users),
      store_(store),
      messaging_(messaging),
      phones_(phones),
      clock_(clock),
      options_(std::move(options)) {}

absl::StatusOr<VerificationStarted> PhoneVerificationService::Start(
    const storage::User& caller, absl::string_view phone_number,
    absl::Time deadline) {
  std::string phone = caller.phone_number;
  if (!phone_number.empty()) {
    absl::StatusOr<std::string> e164 = phones_->ToE164(phone_number);
    if (!e164.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("phone_number: ", e164.status().message()));
    }
    phone = *std::move(e164);
  }
  if (phone.empty()) {
    return absl::FailedPreconditionError(
        "you have no phone number: give phone_number");
  }
  if (options_.from_number.empty()) {
    return absl::FailedPreconditionError(
        "no sender number configured (TWILIO_PHONE_NUMBERS)");
  }
  SMSGW_RETURN_IF_ERROR(messaging_->CheckDestination(phone, "verification"));
  absl::StatusOr<storage::User> holder = users_->FindByVerifiedPhone(phone);
  if (holder.ok() && holder->id != caller.id) {
    return absl::AlreadyExistsError(absl::StrCat(
        "phone number ", phone, " is already verified by another user"));
  }
  if (!holder.ok() && !absl::IsNotFound(holder.status())) {
    return holder.status();
  }
  // Last of the checks, as it counts the code against the guard's limits.
  if (options_.guard != nullptr) {
    SMSGW_RETURN_IF_ERROR(options_.guard->Admit(phone));
  }
  const absl::Time now = clock_->Now();
  if (phone != caller.phone_number) {
    SMSGW_RETURN_IF_ERROR(store_->SetPhone(caller.id, phone, now));
  }
  const std::string code = NewCode();
  storage::PhoneVerificationRecord record;
  record.user_id = caller.id;
  record.phone_number = phone;
  record.code_hash = HashVerificationCode(code);
  record.create_time = now;
  record.expire_time = now + options_.code_ttl;
  SMSGW_ASSIGN_OR_RETURN(
      storage::PhoneVerificationRecord stored,
      store_->InsertLimited(record, absl::Hours(1),
                            options_.max_codes_per_hour, now));
  SystemSendRequest send;
  send.owner_id = caller.id;
  send.owner_username = caller.username;
  send.to = phone;
  send.from = options_.from_number;
  send.body = absl::StrCat("Your smsgw verification code is ", code,
                           ". It expires in 10 minutes.");
  send.conversation_id = "verification";
  // A code is worth sending only while it is valid, and ahead of any
  // campaign waiting on the same sender; the user who asked for it is awake,
  // whatever the hour at their number's prefix.
  send.policy.priority = storage::MessagePriority::kHigh;
  send.policy.respect_quiet_hours = false;
  send.policy.validity_period =
      std::clamp(options_.code_ttl, kMinValidity, kMaxValidity);
  absl::StatusOr<storage::Message> sent = messaging_->SendSystem(send);
  if (absl::IsInvalidArgument(sent.status())) {
    // The conversation label is taken with another peer (phone changed):
    // file this code under a per-number label instead.
    send.conversation_id = absl::StrCat("verification-", stored.id);
    sent = messaging_->SendSystem(send);
  }
  SMSGW_RETURN_IF_ERROR(sent.status());
  std::vector<storage::Message> now_state =
      messaging_->AwaitAll({sent->id}, deadline);
  if (!now_state.empty() &&
      (now_state[0].status == storage::MessageStatus::kFailed ||
       now_state[0].status == storage::MessageStatus::kUndelivered ||
       now_state[0].status == storage::MessageStatus::kExpired)) {
    return absl::UnavailableError(absl::StrCat(
        "the SMS provider did not take the code message (",
        now_state[0].error_message, "); retry later"));
  }
  SMSGW_LOG(kInfo) << "verification code sent user_id=" << caller.id;
  return VerificationStarted{phone, record.expire_time};
}

absl::StatusOr<storage::User> PhoneVerificationService::Confirm(
    const storage::User& caller, absl::string_view code) {
  if (!IsSixDigits(code)) {
    return absl::InvalidArgumentError("code must be 6 digits");
  }
  SMSGW_ASSIGN_OR_RETURN(std::optional<storage::PhoneVerificationRecord> pending,
                         store_->FindPending(caller.id));
  if (!pending.has_value()) {
    return absl::FailedPreconditionError(
        "no verification pending: call StartPhoneVerification first");
  }
  if (clock_->Now() >= pending->expire_time) {
    return absl::FailedPreconditionError(
        "the code expired: call StartPhoneVerification again");
  }
  if (pending->attempts >= options_.max_attempts) {
    return absl::ResourceExhaustedError(
        "too many wrong codes for this verification: start a new one");
  }
  if (pending->phone_number != caller.phone_number) {
    return absl::FailedPreconditionError(
        "your phone number changed since the code was sent; call "
        "StartPhoneVerification again");
  }
  if (!VerificationCodeMatches(code, pending->code_hash)) {
    SMSGW_RETURN_IF_ERROR(store_->AddAttempt(pending->id));
    return absl::InvalidArgumentError(absl::StrCat(
        "code does not match; ",
        options_.max_attempts - pending->attempts - 1, " tries left"));
  }
  SMSGW_RETURN_IF_ERROR(store_->MarkVerified(pending->id, caller.id,
                                             pending->phone_number,
                                             clock_->Now()));
  SMSGW_LOG(kInfo) << "phone verified user_id=" << caller.id;
  return users_->FindById(caller.id);
}

}  // namespace smsgw::domain
