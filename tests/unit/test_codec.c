/* SPDX-License-Identifier: MIT */
/*
 * test_codec: CRC-32C against its check value and against itself (the
 * CPU instruction and the table), and the binary event codec: every kind
 * round-trips, and every truncation, a trailing byte, an unknown kind and a
 * bad key or name length are refused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "elig_codec.h"
#include "elig_crc32c.h"
#include "elig_error.h"
#include "test_support.h"

static void test_crc32c(void **state)
{
    (void)state;
    assert_int_equal(elig_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(elig_crc32c_sw(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(elig_crc32c(0, "", 0), 0);
    /* in pieces = at once; hardware = table, at every length and alignment */
    unsigned char buf[300];
    unsigned seed = 7;
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(seed = seed * 1103515245u + 12345u) >> 16;
    for (size_t off = 0; off < 8; off++) {
        for (size_t len = 0; len + off <= sizeof buf; len += 13) {
            uint32_t whole = elig_crc32c(0, buf + off, len);
            assert_int_equal(whole, elig_crc32c_sw(0, buf + off, len));
            assert_int_equal(whole, elig_crc32c(elig_crc32c(0, buf + off, len / 2),
                                                buf + off + len / 2, len - len / 2));
        }
    }
}

static struct elig_event sample(uint8_t kind)
{
    struct elig_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.effective = test_date("2025-02-01");
    memcpy(ev.source, "01130012", ELIG_INSURER_LEN);
    struct elig_key k = test_key("01130012", "練馬", "A-12", "3");
    switch (kind) {
    case ELIG_EV_ACQUIRE:
        ev.u.acquire = test_record(&k, 123456789012345678ULL, "1980-04-01", "2020-04-01", "", "");
        ev.u.acquire.elderly_pct = 20;
        ev.u.acquire.elderly_from = test_date("2020-05-01");
        break;
    case ELIG_EV_LOSS:
        ev.u.loss.key = k;
        ev.u.loss.reason = ELIG_LOSS_DEATH;
        break;
    case ELIG_EV_CHANGE:
        ev.u.change.key = k;
        ev.u.change.fields = ELIG_CHG_COPAY | ELIG_CHG_FAMILY_KANA;
        ev.u.change.values.copay_pct = 20;
        strcpy(ev.u.change.values.family_kana, "サトウ");
        break;
    case ELIG_EV_INSURER:
        strcpy(ev.u.insurer.name, "全国健康保険協会");
        break;
    default:
        ev.u.card.card_id = 0x00000000000A1001ULL;
        ev.u.card.person_id = 1001;
        ev.u.card.cert_expiry = test_date("2030-01-31");
        break;
    }
    return ev;
}

static void test_round_trip(void **state)
{
    (void)state;
    for (uint8_t kind = 1; kind <= ELIG_EV_KIND_MAX; kind++) {
        struct elig_event ev = sample(kind), back;
        uint8_t buf[ELIG_EVENT_WIRE_MAX];
        int n = elig_event_encode(&ev, buf, sizeof buf);
        assert_true(n > 0);
        assert_int_equal(elig_event_decode(buf, (size_t)n, &back), 0);
        assert_memory_equal(&ev, &back, sizeof ev);
        /* every truncation, and one byte too many, is refused */
        for (int len = 0; len < n; len++)
            assert_int_equal(elig_event_decode(buf, (size_t)len, &back), -ELIG_ESYNTAX);
        buf[n] = 0;
        assert_int_equal(elig_event_decode(buf, (size_t)n + 1, &back), -ELIG_ESYNTAX);
        /* too small a buffer to encode into */
        assert_int_equal(elig_event_encode(&ev, buf, (size_t)n - 1), -ENOBUFS);
    }
}

static void test_bad_encodings(void **state)
{
    (void)state;
    struct elig_event ev = sample(ELIG_EV_LOSS), back;
    uint8_t buf[ELIG_EVENT_WIRE_MAX];
    int n = elig_event_encode(&ev, buf, sizeof buf);
    assert_true(n > 12);
    uint8_t bad[ELIG_EVENT_WIRE_MAX];
    memcpy(bad, buf, (size_t)n);
    bad[0] = 99; /* kind */
    assert_int_equal(elig_event_decode(bad, (size_t)n, &back), -ELIG_EKIND);
    memcpy(bad, buf, (size_t)n);
    bad[11] = ELIG_KEY_BYTES_MAX + 1; /* key length beyond any key */
    assert_int_equal(elig_event_decode(bad, (size_t)n, &back), -ELIG_ESYNTAX);
    memcpy(bad, buf, (size_t)n);
    bad[12] = 'x'; /* the insurer digits of the key */
    assert_int_equal(elig_event_decode(bad, (size_t)n, &back), -ELIG_ESYNTAX);

    ev = sample(ELIG_EV_INSURER);
    n = elig_event_encode(&ev, buf, sizeof buf);
    buf[12] = '\0'; /* a NUL inside the name */
    assert_int_equal(elig_event_decode(buf, (size_t)n, &back), -ELIG_ESYNTAX);
    memset(ev.u.insurer.name, 'a', ELIG_INSURER_NAME_MAX);
    assert_int_equal(elig_event_encode(&ev, buf, sizeof buf) > 0, 1);
    ev.kind = 0;
    assert_int_equal(elig_event_encode(&ev, buf, sizeof buf), -ELIG_EKIND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_bad_encodings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
