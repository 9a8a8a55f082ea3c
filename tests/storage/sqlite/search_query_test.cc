// The portable search syntax (storage/search_query.h): what parses, into
// which tree, and what is refused as not portable or malformed.
#include "storage/search_query.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::storage {
namespace {

using ::testing::HasSubstr;

// The tree as text: words as is, prefixes with *, phrases quoted,
// operators as AND(...), OR(...), NOT(a,b).
std::string Show(const SearchNode& n) {
  switch (n.kind) {
    case SearchNode::Kind::kWord: return n.text;
    case SearchNode::Kind::kPrefix: return n.text + "*";
    case SearchNode::Kind::kPhrase: return "\"" + n.text + "\"";
    default: break;
  }
  std::string out = n.kind == SearchNode::Kind::kAnd  ? "AND("
                    : n.kind == SearchNode::Kind::kOr ? "OR("
                                                      : "NOT(";
  for (size_t i = 0; i < n.children.size(); ++i) {
    if (i > 0) out += ",";
    out += Show(*n.children[i]);
  }
  return out + ")";
}

std::string Parsed(const std::string& q) {
  absl::StatusOr<std::unique_ptr<SearchNode>> tree = ParseSearchQuery(q);
  EXPECT_THAT(tree, IsOk()) << q;
  return tree.ok() ? Show(**tree) : "";
}

TEST(SearchQueryTest, WordsPrefixesAndPhrases) {
  EXPECT_EQ(Parsed("hello"), "hello");
  EXPECT_EQ(Parsed("meet*"), "meet*");
  EXPECT_EQ(Parsed("\"see you\""), "\"see you\"");
  EXPECT_EQ(Parsed("\"say \"\"hi\"\"\""), "\"say \"hi\"\"");
  EXPECT_EQ(Parsed("café мир"), "AND(café,мир)");
  EXPECT_EQ(Parsed("and or not"), "AND(and,or,not)");  // lower case: words
}

TEST(SearchQueryTest, PrecedenceIsImplicitAndThenNotThenAndThenOr) {
  EXPECT_EQ(Parsed("a b OR c"), "OR(AND(a,b),c)");
  EXPECT_EQ(Parsed("a OR b AND c"), "OR(a,AND(b,c))");
  EXPECT_EQ(Parsed("a AND b NOT c"), "AND(a,NOT(b,c))");
  EXPECT_EQ(Parsed("a NOT b c"), "NOT(a,AND(b,c))");
  EXPECT_EQ(Parsed("(a OR b) AND c"), "AND(OR(a,b),c)");
  EXPECT_EQ(Parsed("\"see you\" OR bye"), "OR(\"see you\",bye)");
}

TEST(SearchQueryTest, MalformedAndUnportableQueriesAreInvalidArgument) {
  for (const std::string q :
       {"", "   ", "\"unbalanced", "AND", "hello AND", "OR hello", "(hello",
        "hello)", "()", "nosuchcolumn:hello", "NEAR(a b)", "^hello", "+a",
        "-a", "\"phrase\"*", "'; DROP TABLE messages; --", "a = b",
        "(a) b"}) {
    SCOPED_TRACE(q);
    EXPECT_THAT(ParseSearchQuery(q),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("query is not valid full-text syntax")));
  }
}

}  // namespace
}  // namespace smsgw::storage
