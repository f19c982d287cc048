/* SPDX-License-Identifier: BSD-3-Clause */
#include "devargs.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace mana
{
namespace
{

TEST(Devargs, NoneAcceptsEveryPort)
{
    for (const char *args : {static_cast<const char *>(nullptr), ""}) {
        const auto result = parse_devargs(args);
        EXPECT_EQ(result.error, 0);
        EXPECT_TRUE(result.devargs.macs.empty());
        EXPECT_TRUE(result.devargs.accepts({1, 2, 3, 4, 5, 6}));
    }
}

TEST(Devargs, RepeatedMacsFilter)
{
    const auto result = parse_devargs("mac=00:15:5d:78:70:01,mac=00:15:5D:78:70:03");
    ASSERT_EQ(result.error, 0) << result.what;
    ASSERT_EQ(result.devargs.macs.size(), 2U);
    EXPECT_TRUE(result.devargs.accepts({0x00, 0x15, 0x5d, 0x78, 0x70, 0x01}));
    EXPECT_TRUE(result.devargs.accepts({0x00, 0x15, 0x5d, 0x78, 0x70, 0x03}));
    EXPECT_FALSE(result.devargs.accepts({0x00, 0x15, 0x5d, 0x78, 0x70, 0x00}));
}

TEST(Devargs, MalformedMacNamesTheArgument)
{
    const auto result = parse_devargs("mac=00:15:5d:78:70");
    EXPECT_EQ(result.error, -EINVAL);
    EXPECT_NE(result.what.find("mac=00:15:5d:78:70"), std::string::npos) << result.what;
    EXPECT_TRUE(result.devargs.macs.empty());
}

TEST(Devargs, UnknownKeyIsRefused)
{
    const auto result = parse_devargs("rxq=4");
    EXPECT_EQ(result.error, -EINVAL);
    EXPECT_NE(result.what.find("rxq=4"), std::string::npos) << result.what;
}

TEST(Devargs, AtMostEightMacs)
{
    std::string args;
    for (int i = 0; i < 9; ++i)
        args += (i ? ",mac=00:00:00:00:00:0" : "mac=00:00:00:00:00:0") + std::to_string(i);
    const auto result = parse_devargs(args.c_str());
    EXPECT_EQ(result.error, -E2BIG);
    EXPECT_NE(result.what.find("00:00:00:00:00:08"), std::string::npos) << result.what;
    args = args.substr(0, args.rfind(','));
    EXPECT_EQ(parse_devargs(args.c_str()).devargs.macs.size(), 8U);
}

TEST(Devargs, RecoveryTimeoutDefaultsToAMinute)
{
    EXPECT_EQ(parse_devargs(nullptr).devargs.recovery_timeout_ms, 60000U);
    EXPECT_EQ(parse_devargs("mac=00:15:5d:78:70:01").devargs.recovery_timeout_ms, 60000U);
}

TEST(Devargs, RecoveryTimeoutIsMilliseconds)
{
    auto result = parse_devargs("recovery_timeout_ms=2500,mac=00:15:5d:78:70:01");
    ASSERT_EQ(result.error, 0) << result.what;
    EXPECT_EQ(result.devargs.recovery_timeout_ms, 2500U);
    EXPECT_EQ(result.devargs.macs.size(), 1U);
    result = parse_devargs("recovery_timeout_ms=0");
    ASSERT_EQ(result.error, 0) << result.what;
    EXPECT_EQ(result.devargs.recovery_timeout_ms, 0U); // recovery off
    result = parse_devargs("recovery_timeout_ms=3600000");
    EXPECT_EQ(result.error, 0) << result.what;
}

TEST(Devargs, BadRecoveryTimeoutNamesTheArgument)
{
    for (const char *args :
         {"recovery_timeout_ms=3600001", "recovery_timeout_ms=-1", "recovery_timeout_ms=10s",
          "recovery_timeout_ms=99999999999", "recovery_timeout_ms="}) {
        const auto result = parse_devargs(args);
        EXPECT_EQ(result.error, -EINVAL) << args;
        EXPECT_NE(result.what.find("recovery_timeout_ms"), std::string::npos) << result.what;
        EXPECT_EQ(result.devargs.recovery_timeout_ms, 60000U) << args;
    }
}

} // namespace
} // namespace mana
