#include "common/bounded_cache.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace smsgw {
namespace {

using ::testing::Optional;

TEST(BoundedCacheTest, FindsExactlyWhatWasInserted) {
  BoundedCache<int> cache(4);
  EXPECT_EQ(cache.Find("a"), std::nullopt);
  cache.Insert("a", 1);
  cache.Insert("ab", 2);
  EXPECT_THAT(cache.Find("a"), Optional(1));
  EXPECT_THAT(cache.Find("ab"), Optional(2));
  EXPECT_EQ(cache.Find("A"), std::nullopt);
  EXPECT_EQ(cache.Find(std::string("a\0", 2)), std::nullopt);
  cache.Insert("a", 3);
  EXPECT_THAT(cache.Find("a"), Optional(3));
  EXPECT_EQ(cache.size(), 2u);
}

TEST(BoundedCacheTest, ForgetsEverythingWhenFullAndStaysBounded) {
  BoundedCache<std::string> cache(3);
  for (int i = 0; i < 3; ++i) cache.Insert(absl::StrCat(i), absl::StrCat("v", i));
  EXPECT_EQ(cache.size(), 3u);
  cache.Insert("0", "again");  // a replacement does not count as new
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_THAT(cache.Find("0"), Optional(std::string("again")));
  cache.Insert("3", "v3");
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.Find("1"), std::nullopt);
  EXPECT_THAT(cache.Find("3"), Optional(std::string("v3")));
  for (int i = 0; i < 100; ++i) cache.Insert(absl::StrCat("k", i), "x");
  EXPECT_LE(cache.size(), 3u);
}

TEST(BoundedCacheTest, ConcurrentFindsAndInsertsAgree) {
  BoundedCache<int> cache(64);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::string key = absl::StrCat((i * 7 + t) % 100);
        if (std::optional<int> v = cache.Find(key)) {
          EXPECT_EQ(*v, (i * 7 + t) % 100);
        } else {
          cache.Insert(key, (i * 7 + t) % 100);
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_LE(cache.size(), 64u);
}

}  // namespace
}  // namespace smsgw
