#include "server/domain/segments.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace smsgw::domain {
namespace {

// --- GSM 03.38 as Twilio's calculator maps it (UnicodeToGSM.ts) ------------

// Septets per ASCII character: 1 for the basic table, 2 for the extension
// table (ESC + code), 0 when the character has no GSM-7 encoding. Backtick
// and the control characters other than LF, FF and CR are not GSM.
constexpr std::array<uint8_t, 128> MakeAsciiSeptets() {
  std::array<uint8_t, 128> t{};
  t['\n'] = 1;
  t['\r'] = 1;
  t['\f'] = 2;
  for (int c = 0x20; c <= 0x7E; ++c) t[c] = 1;
  for (char c : {'[', '\\', ']', '^', '{', '|', '}', '~'}) t[c] = 2;
  t['`'] = 0;
  return t;
}
constexpr std::array<uint8_t, 128> kAsciiSeptets = MakeAsciiSeptets();

// Septets needed for `cp` in GSM-7, or 0 if it forces UCS-2. Only capital
// `Ç` is in the table: lowercase `ç` is not GSM (twilio-reference.md §7).
int GsmSeptets(char32_t cp) {
  if (cp < 0x80) return kAsciiSeptets[cp];
  switch (cp) {
    // clang-format off
    case 0x00A1: case 0x00A3: case 0x00A4: case 0x00A5: case 0x00A7:  // ¡£¤¥§
    case 0x00BF: case 0x00C4: case 0x00C5: case 0x00C6: case 0x00C7:  // ¿ÄÅÆÇ
    case 0x00C9: case 0x00D1: case 0x00D6: case 0x00D8: case 0x00DC:  // ÉÑÖØÜ
    case 0x00DF: case 0x00E0: case 0x00E4: case 0x00E5: case 0x00E6:  // ßàäåæ
    case 0x00E8: case 0x00E9: case 0x00EC: case 0x00F1: case 0x00F2:  // èéìñò
    case 0x00F6: case 0x00F8: case 0x00F9: case 0x00FC:               // öøùü
    case 0x0393: case 0x0394: case 0x0398: case 0x039B: case 0x039E:  // ΓΔΘΛΞ
    case 0x03A0: case 0x03A3: case 0x03A6: case 0x03A8: case 0x03A9:  // ΠΣΦΨΩ
      return 1;
    // clang-format on
    case 0x20AC:  // €
      return 2;
    default:
      return 0;
  }
}

// --- Strict UTF-8 decoding (RFC 3629) ----------------------------------------

struct Decoded {
  char32_t cp = 0;
  int length = 0;               // bytes consumed; 0 on error
  const char* error = nullptr;  // why the sequence is invalid
};

Decoded DecodeUtf8(absl::string_view s, size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return {b0, 1, nullptr};
  if (b0 < 0xC0) return {0, 0, "continuation byte without a lead byte"};
  if (b0 < 0xC2) return {0, 0, "overlong encoding"};
  if (b0 > 0xF4) return {0, 0, "byte never used in UTF-8"};
  const int need = b0 < 0xE0 ? 1 : b0 < 0xF0 ? 2 : 3;
  char32_t cp = b0 & (0x3F >> need);
  for (int k = 1; k <= need; ++k) {
    if (i + k >= s.size()) return {0, 0, "truncated sequence"};
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return {0, 0, "truncated sequence"};
    cp = (cp << 6) | (b & 0x3F);
  }
  if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000)) {
    return {0, 0, "overlong encoding"};
  }
  if (cp >= 0xD800 && cp <= 0xDFFF) return {0, 0, "encoded UTF-16 surrogate"};
  if (cp > 0x10FFFF) return {0, 0, "code point above U+10FFFF"};
  return {cp, need + 1, nullptr};
}

// --- Grapheme clusters, approximately ----------------------------------------
//
// Twilio's calculator splits the body into extended grapheme clusters
// (npm grapheme-splitter, Unicode 10 rules; CR LF is split back into two) and
// never splits a cluster across segments. Full UAX #29 needs Unicode property
// tables; these few ranges cover what SMS bodies actually contain: combining
// accents, the vowel signs of Hebrew, Arabic, Indic and Thai scripts, emoji
// modifiers, variation selectors, ZWJ sequences, tags and flag pairs.
// Hangul jamo sequences and Prepend characters are not joined. The rules
// are the modern ones, so a few cases differ from the calculator's Unicode 10
// splitter: ZWJ sequences newer than Unicode 10 (e.g. people holding hands)
// and a skin-tone modifier after a non-emoji are one cluster here, several
// there. A randomised comparison with the npm package over 22,000 mixed
// bodies (Latin, GSM extensions, Cyrillic, emoji, flags, Devanagari, Bengali,
// Thai, Hebrew, Arabic) found no other difference.

struct Range {
  char32_t first;
  char32_t last;
};

// Extend and SpacingMark code points: no cluster boundary before them.
constexpr Range kExtendRanges[] = {
    {0x0300, 0x036F},   {0x0483, 0x0489},   {0x0591, 0x05BD},
    {0x05BF, 0x05BF},   {0x05C1, 0x05C2},   {0x05C4, 0x05C5},
    {0x05C7, 0x05C7},   {0x0610, 0x061A},   {0x064B, 0x065F},
    {0x0670, 0x0670},   {0x06D6, 0x06DC},   {0x06DF, 0x06E4},
    {0x06E7, 0x06E8},   {0x06EA, 0x06ED},   {0x0900, 0x0903},
    {0x093A, 0x093C},   {0x093E, 0x094F},   {0x0951, 0x0957},
    {0x0962, 0x0963},   {0x0E31, 0x0E31},   {0x0E33, 0x0E3A},
    {0x0E47, 0x0E4E},   {0x0EB1, 0x0EB1},   {0x0EB3, 0x0EBC},
    {0x0EC8, 0x0ECD},   {0x1AB0, 0x1AFF},   {0x1DC0, 0x1DFF},
    {0x200C, 0x200D},   {0x20D0, 0x20FF},   {0x302A, 0x302F},
    {0x3099, 0x309A},   {0xFE00, 0xFE0F},   {0xFE20, 0xFE2F},
    {0x1F3FB, 0x1F3FF}, {0xE0020, 0xE007F}, {0xE0100, 0xE01EF},
};

bool InRanges(char32_t cp, const Range* begin, const Range* end) {
  // Binary search: the tables are sorted and disjoint.
  while (begin < end) {
    const Range* mid = begin + (end - begin) / 2;
    if (cp < mid->first) {
      end = mid;
    } else if (cp > mid->last) {
      begin = mid + 1;
    } else {
      return true;
    }
  }
  return false;
}

// Bengali to Malayalam share the ISCII layout: the signs sit at the same
// offsets in each 128-code-point block.
constexpr char32_t kIsciiFirst = 0x0980;
constexpr char32_t kIsciiEnd = 0x0D80;
constexpr bool IsIsciiSign(char32_t cp) {
  const char32_t off = cp & 0x7F;
  return (off >= 0x01 && off <= 0x03) || off == 0x3C ||
         (off >= 0x3E && off <= 0x4D) || (off >= 0x55 && off <= 0x57) ||
         (off >= 0x62 && off <= 0x63);
}

// One bit per 128-code-point block of the BMP: set if the block holds any
// Extend code point. Lets Latin, Cyrillic, CJK and Hangul text skip the
// range search.
constexpr std::array<uint64_t, 8> MakeExtendBlocks() {
  std::array<uint64_t, 8> blocks{};
  auto mark = [&blocks](char32_t first, char32_t last) {
    for (char32_t b = first >> 7; b <= (last >> 7) && b < 512; ++b) {
      blocks[b >> 6] |= uint64_t{1} << (b & 63);
    }
  };
  for (const Range& r : kExtendRanges) {
    if (r.first <= 0xFFFF) mark(r.first, r.last);
  }
  mark(kIsciiFirst, kIsciiEnd - 1);
  return blocks;
}
constexpr std::array<uint64_t, 8> kExtendBlocks = MakeExtendBlocks();

bool IsExtend(char32_t cp) {
  if (cp < 0x0300) return false;  // fast path for Latin text
  if (cp <= 0xFFFF) {
    const char32_t block = cp >> 7;
    if ((kExtendBlocks[block >> 6] & (uint64_t{1} << (block & 63))) == 0) {
      return false;
    }
    if (cp >= kIsciiFirst && cp < kIsciiEnd) return IsIsciiSign(cp);
  }
  return InRanges(cp, std::begin(kExtendRanges), std::end(kExtendRanges));
}

// Extended_Pictographic, coarsely: what may follow a ZWJ inside an emoji.
bool IsPictographic(char32_t cp) {
  if (cp < 0x00A9) return false;  // fast path for ASCII
  return cp == 0x00A9 || cp == 0x00AE || cp == 0x203C || cp == 0x2049 ||
         cp == 0x2122 || cp == 0x2139 || (cp >= 0x2194 && cp <= 0x21AA) ||
         (cp >= 0x2300 && cp <= 0x23FF) || cp == 0x24C2 ||
         (cp >= 0x25AA && cp <= 0x25FE) || (cp >= 0x2600 && cp <= 0x27BF) ||
         (cp >= 0x2934 && cp <= 0x2935) || (cp >= 0x2B05 && cp <= 0x2B55) ||
         cp == 0x3030 || cp == 0x303D || cp == 0x3297 || cp == 0x3299 ||
         (cp >= 0x1F000 && cp <= 0x1FAFF && !(cp >= 0x1F1E6 && cp <= 0x1F1FF));
}

bool IsRegionalIndicator(char32_t cp) { return cp >= 0x1F1E6 && cp <= 0x1F1FF; }

// Control, CR and LF end a cluster on both sides (UAX #29 GB4, GB5).
bool IsControl(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x200B ||
         cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF;
}

constexpr char32_t kZeroWidthJoiner = 0x200D;

// Tracks the cluster being read and answers whether the next code point
// continues it.
class ClusterTracker {
 public:
  // Returns true if `cp` starts a new cluster, false if it extends the
  // current one, and advances.
  bool StartsCluster(char32_t cp) {
    bool joins = false;
    if (has_cluster_ && !IsControl(prev_) && !IsControl(cp)) {
      if (IsExtend(cp)) {
        joins = true;
      } else if (prev_ == kZeroWidthJoiner && pictographic_ &&
                 IsPictographic(cp)) {
        joins = true;
      } else if (IsRegionalIndicator(cp) && IsRegionalIndicator(prev_) &&
                 regional_indicators_ == 1) {
        joins = true;
      }
    }
    if (!joins) {
      pictographic_ = IsPictographic(cp);
      regional_indicators_ = 0;
    }
    if (IsRegionalIndicator(cp)) ++regional_indicators_;
    has_cluster_ = true;
    prev_ = cp;
    return !joins;
  }

 private:
  bool has_cluster_ = false;
  char32_t prev_ = 0;
  bool pictographic_ = false;    // the cluster is an emoji so far
  int regional_indicators_ = 0;  // flag halves in the cluster
};

// --- Filling segments
// ---------------------------------------------------------

// Packs characters into 140-octet segments the way Twilio's calculator
// (Segment.ts, SegmentedMessage.ts) does: characters fill segment 1 until
// one does not fit; then every segment carries a 6-octet User Data Header,
// so segment 1 gets its header after the fact and hands its last characters
// on to segment 2. A character is never split; one larger than a whole
// segment (a huge grapheme cluster) still goes in whole, as in the
// calculator.
class SegmentFiller {
 public:
  void Add(int64_t bits) {
    if (kSegmentBits - current_bits_ < bits) {
      ++segments_;
      int64_t carried = 0;
      if (segments_ == 2) {
        int64_t first_bits = current_bits_ + kHeaderBits;
        while (first_bits > kSegmentBits) {
          const int64_t moved = first_sizes_[--first_count_];
          first_bits -= moved;
          carried += moved;
        }
      }
      current_bits_ = kHeaderBits + carried;
    } else if (segments_ == 1) {
      // Fits in segment 1, so at most 1120 / 7 = 160 entries and < 2^16 bits.
      first_sizes_[first_count_++] = static_cast<uint16_t>(bits);
    }
    current_bits_ += bits;
  }

  int64_t segments() const { return segments_; }

 private:
  static constexpr int64_t kSegmentBits = 140 * 8;
  static constexpr int64_t kHeaderBits = 6 * 8;
  static constexpr int kMaxFirstChars = kSegmentBits / 7;

  int64_t segments_ = 1;
  int64_t current_bits_ = 0;
  // Sizes of the characters in segment 1, needed when its header is added.
  std::array<uint16_t, kMaxFirstChars> first_sizes_;
  int first_count_ = 0;
};

// Remembers which non-GSM code points were already reported. Most bodies
// repeat a few BMP characters many times, so those are looked up in a bitmap
// on the stack (cleared only once a body turns out not to be GSM); the rare
// code points beyond the BMP go to a hash set.
class SeenSet {
 public:
  // Returns true the first time `cp` is inserted.
  bool Insert(char32_t cp) {
    if (cp > 0xFFFF) return beyond_bmp_.insert(cp).second;
    if (!cleared_) {
      bmp_.fill(0);
      cleared_ = true;
    }
    uint64_t& word = bmp_[cp >> 6];
    const uint64_t bit = uint64_t{1} << (cp & 63);
    if (word & bit) return false;
    word |= bit;
    return true;
  }

 private:
  bool cleared_ = false;
  std::array<uint64_t, 0x10000 / 64> bmp_;  // 8 KiB, filled on first use
  absl::flat_hash_set<char32_t> beyond_bmp_;
};

constexpr int64_t kGsmBitsPerSeptet = 7;
constexpr int64_t kUcs2BitsPerUnit = 16;

}  // namespace

absl::string_view SmsEncodingName(SmsEncoding encoding) {
  switch (encoding) {
    case SmsEncoding::kGsm7:
      return "GSM-7";
    case SmsEncoding::kUcs2:
      return "UCS-2";
  }
  return "unknown";
}

absl::StatusOr<SegmentInfo> CountSegments(absl::string_view utf8_body) {
  SegmentInfo info;
  if (utf8_body.empty()) return info;

  // Both encodings are simulated side by side so one pass suffices: the
  // GSM-7 result is used only if no character forced UCS-2.
  SegmentFiller gsm;
  SegmentFiller ucs2;
  int64_t septets = 0;
  int64_t utf16_units = 0;
  bool is_gsm = true;
  ClusterTracker clusters;
  int64_t cluster_units = 0;
  SeenSet seen_non_gsm;

  for (size_t i = 0; i < utf8_body.size();) {
    const Decoded d = DecodeUtf8(utf8_body, i);
    if (d.length == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "message body is not valid UTF-8 at byte offset ", i, " (0x",
          absl::Hex(static_cast<unsigned char>(utf8_body[i]), absl::kZeroPad2),
          "): ", d.error));
    }
    const size_t start = i;
    i += d.length;

    const int units = d.cp > 0xFFFF ? 2 : 1;
    utf16_units += units;
    if (clusters.StartsCluster(d.cp) && cluster_units > 0) {
      ucs2.Add(cluster_units * kUcs2BitsPerUnit);
      cluster_units = 0;
    }
    cluster_units += units;

    const int cp_septets = GsmSeptets(d.cp);
    if (cp_septets == 0) {
      is_gsm = false;
      if (seen_non_gsm.Insert(d.cp)) {
        info.non_gsm_characters.emplace_back(utf8_body.data() + start,
                                             d.length);
      }
    } else if (is_gsm) {
      septets += cp_septets;
      gsm.Add(cp_septets * kGsmBitsPerSeptet);
    }
  }
  ucs2.Add(cluster_units * kUcs2BitsPerUnit);

  info.length = utf16_units;
  if (is_gsm) {
    info.encoding = SmsEncoding::kGsm7;
    info.segments = gsm.segments();
    info.total_units = septets;
  } else {
    info.encoding = SmsEncoding::kUcs2;
    info.segments = ucs2.segments();
    info.total_units = utf16_units;
  }
  return info;
}

}  // namespace smsgw::domain
