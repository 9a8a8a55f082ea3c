#include "storage/search_query.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace smsgw::storage {
namespace {

bool IsWordByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
}

struct Token {
  enum class Kind { kWord, kPrefix, kPhrase, kAnd, kOr, kNot, kOpen, kClose };
  Kind kind;
  std::string text;
};

absl::Status Invalid(absl::string_view reason) {
  return absl::InvalidArgumentError(
      absl::StrCat("query is not valid full-text syntax: ", reason));
}

absl::StatusOr<std::vector<Token>> Tokenize(absl::string_view q) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < q.size()) {
    const unsigned char c = q[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
    } else if (c == '(') {
      out.push_back({Token::Kind::kOpen, ""});
      ++i;
    } else if (c == ')') {
      out.push_back({Token::Kind::kClose, ""});
      ++i;
    } else if (c == '"') {
      std::string text;
      ++i;
      bool closed = false;
      while (i < q.size()) {
        if (q[i] == '"') {
          if (i + 1 < q.size() && q[i + 1] == '"') {
            text.push_back('"');
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        text.push_back(q[i++]);
      }
      if (!closed) return Invalid("unterminated \"phrase\"");
      if (i < q.size() && q[i] == '*') {
        return Invalid("a prefix * goes after a word, not a phrase");
      }
      out.push_back({Token::Kind::kPhrase, std::move(text)});
    } else if (IsWordByte(c)) {
      size_t end = i;
      while (end < q.size() && IsWordByte(static_cast<unsigned char>(q[end]))) {
        ++end;
      }
      std::string word(q.substr(i, end - i));
      i = end;
      if (i < q.size() && q[i] == ':') {
        return Invalid(absl::StrCat("column filters (\"", word,
                                    ":\") are not supported"));
      }
      if (i < q.size() && q[i] == '*') {
        ++i;
        out.push_back({Token::Kind::kPrefix, std::move(word)});
      } else if (word == "AND") {
        out.push_back({Token::Kind::kAnd, ""});
      } else if (word == "OR") {
        out.push_back({Token::Kind::kOr, ""});
      } else if (word == "NOT") {
        out.push_back({Token::Kind::kNot, ""});
      } else if (word == "NEAR" && i < q.size() && q[i] == '(') {
        return Invalid("NEAR(...) is not supported");
      } else {
        out.push_back({Token::Kind::kWord, std::move(word)});
      }
    } else {
      return Invalid(absl::StrCat("unexpected '", std::string(1, c),
                                  "' outside a \"phrase\""));
    }
  }
  return out;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  absl::StatusOr<std::unique_ptr<SearchNode>> Parse() {
    absl::StatusOr<std::unique_ptr<SearchNode>> node = ParseOr();
    if (!node.ok()) return node;
    if (pos_ < tokens_.size()) return Invalid("unexpected ')' or operator");
    return node;
  }

 private:
  bool At(Token::Kind kind) const {
    return pos_ < tokens_.size() && tokens_[pos_].kind == kind;
  }
  bool AtTerm() const {
    return At(Token::Kind::kWord) || At(Token::Kind::kPrefix) ||
           At(Token::Kind::kPhrase);
  }

  static std::unique_ptr<SearchNode> Join(SearchNode::Kind kind,
                                          std::unique_ptr<SearchNode> left,
                                          std::unique_ptr<SearchNode> right) {
    if (kind != SearchNode::Kind::kNot && left->kind == kind) {
      left->children.push_back(std::move(right));
      return left;
    }
    auto node = std::make_unique<SearchNode>();
    node->kind = kind;
    node->children.push_back(std::move(left));
    node->children.push_back(std::move(right));
    return node;
  }

  // Binary level: `next` operands joined by `op` tokens into `kind`.
  template <typename Next>
  absl::StatusOr<std::unique_ptr<SearchNode>> Level(Token::Kind op,
                                                    SearchNode::Kind kind,
                                                    Next next) {
    absl::StatusOr<std::unique_ptr<SearchNode>> left = (this->*next)();
    if (!left.ok()) return left;
    std::unique_ptr<SearchNode> node = *std::move(left);
    while (At(op)) {
      ++pos_;
      absl::StatusOr<std::unique_ptr<SearchNode>> right = (this->*next)();
      if (!right.ok()) return right;
      node = Join(kind, std::move(node), *std::move(right));
    }
    return node;
  }

  absl::StatusOr<std::unique_ptr<SearchNode>> ParseOr() {
    return Level(Token::Kind::kOr, SearchNode::Kind::kOr, &Parser::ParseAnd);
  }
  absl::StatusOr<std::unique_ptr<SearchNode>> ParseAnd() {
    return Level(Token::Kind::kAnd, SearchNode::Kind::kAnd, &Parser::ParseNot);
  }
  absl::StatusOr<std::unique_ptr<SearchNode>> ParseNot() {
    return Level(Token::Kind::kNot, SearchNode::Kind::kNot,
                 &Parser::ParseList);
  }

  // "(" or ")" | term term ...  (implicit AND joins terms only, as FTS5's
  // grammar does).
  absl::StatusOr<std::unique_ptr<SearchNode>> ParseList() {
    if (At(Token::Kind::kOpen)) {
      ++pos_;
      absl::StatusOr<std::unique_ptr<SearchNode>> inner = ParseOr();
      if (!inner.ok()) return inner;
      if (!At(Token::Kind::kClose)) return Invalid("unbalanced '('");
      ++pos_;
      return inner;
    }
    if (!AtTerm()) {
      return Invalid(pos_ < tokens_.size()
                         ? "an operator needs a word or phrase on each side"
                         : "the query ends where a word or phrase must be");
    }
    std::unique_ptr<SearchNode> node;
    while (AtTerm()) {
      const Token& t = tokens_[pos_++];
      auto term = std::make_unique<SearchNode>();
      term->kind = t.kind == Token::Kind::kWord     ? SearchNode::Kind::kWord
                   : t.kind == Token::Kind::kPrefix ? SearchNode::Kind::kPrefix
                                                    : SearchNode::Kind::kPhrase;
      term->text = t.text;
      node = node == nullptr
                 ? std::move(term)
                 : Join(SearchNode::Kind::kAnd, std::move(node), std::move(term));
    }
    return node;
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SearchNode>> ParseSearchQuery(
    absl::string_view query) {
  absl::StatusOr<std::vector<Token>> tokens = Tokenize(query);
  if (!tokens.ok()) return tokens.status();
  if (tokens->empty()) return Invalid("the query has no words");
  return Parser(*std::move(tokens)).Parse();
}

}  // namespace smsgw::storage
