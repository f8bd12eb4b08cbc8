/* lib/sha256: the examples of FIPS 180-4 (and NIST's CAVP short and long
 * messages), every length around the one- and two-block padding edge
 * against sha256sum's answers, and the million 'a's. */
#include "tests/unit/check.h"
#include "lib/sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void hexof(const void *data, size_t len, char out[2 * SHA256_LEN + 1])
{
	uint8_t d[SHA256_LEN];

	sha256(data, len, d);
	for (int i = 0; i < SHA256_LEN; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

TEST(standard_examples)
{
	char h[2 * SHA256_LEN + 1];

	hexof("", 0, h);
	CHECK_STR(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	hexof("abc", 3, h);
	CHECK_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	hexof("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, h);
	CHECK_STR(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	hexof("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
	      "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu", 112, h);
	CHECK_STR(h, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(million_a)
{
	char h[2 * SHA256_LEN + 1];
	char *a = malloc(1000000);

	CHECK(a != NULL);
	memset(a, 'a', 1000000);
	hexof(a, 1000000, h);
	CHECK_STR(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(a);
}

/* 55, 56, 63, 64 and 65 bytes: the padding fits, spills, or needs a block
 * of its own (values from sha256sum). */
TEST(padding_edges)
{
	static const struct { size_t n; const char *hex; } v[] = {
		{ 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
		{ 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
		{ 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34" },
		{ 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
		{ 65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0" },
	};
	char a[65], h[2 * SHA256_LEN + 1];

	memset(a, 'a', sizeof(a));
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		hexof(a, v[i].n, h);
		CHECK_STR(h, v[i].hex);
	}
}

CHECK_MAIN(TEST_ENTRY(standard_examples), TEST_ENTRY(million_a), TEST_ENTRY(padding_edges))
