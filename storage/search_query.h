// File: search_query.h
//
// The full-text search syntax ListMessages accepts (the `query` field), the
// same on every engine: the part of SQLite FTS5's query syntax that
// PostgreSQL's tsquery can say exactly.
//
//   hello              a word (letters, digits, '_', any non-ASCII)
//   meet*              a word prefix
//   "see you"          a phrase: its words adjacent, in order ("" is a ")
//   hello world        both (implicit AND, between words and phrases only)
//   a AND b, a OR b    boolean operators (upper case; lower case are words)
//   a NOT b            a without b
//   (a OR b) AND c     grouping
//
// Precedence as in FTS5: implicit AND, then NOT, then AND, then OR. Refused
// as not portable: column filters (`body:x`), NEAR(...), `^`, `+`, `*` after
// a phrase, and any other punctuation outside a phrase. Case and accents
// are folded by each engine's tokenizer (FTS5 unicode61; PostgreSQL
// unaccent and ICU lower(), storage/postgres/pg_migrations.cc).
#ifndef SMSGW_STORAGE_SEARCH_QUERY_H_
#define SMSGW_STORAGE_SEARCH_QUERY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace smsgw::storage {

// One node of a parsed query.
struct SearchNode {
  enum class Kind { kWord, kPrefix, kPhrase, kAnd, kOr, kNot };
  Kind kind = Kind::kWord;
  // kWord, kPrefix (without the '*'), kPhrase (its inner text, "" unescaped).
  std::string text;
  // kAnd, kOr: two or more; kNot: exactly two (left without right).
  std::vector<std::unique_ptr<SearchNode>> children;
};

// Parses `query` (non-empty). InvalidArgument "query is not valid full-text
// syntax: <reason>" for anything outside the syntax above.
absl::StatusOr<std::unique_ptr<SearchNode>> ParseSearchQuery(
    absl::string_view query);

}  // namespace smsgw::storage

#endif  // SMSGW_STORAGE_SEARCH_QUERY_H_
