/* A minimal unit-test harness: each test file is one executable with
 * TEST(name) functions listed in a table; CHECK failures are counted, not
 * fatal, and the exit status is non-zero if any failed. TAP-ish output. */
#ifndef AIRLOCK_TESTS_CHECK_H
#define AIRLOCK_TESTS_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int check_failures;

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			check_failures++;				\
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n",	\
				__FILE__, __LINE__, #cond);		\
		}							\
	} while (0)

#define CHECK_EQ(a, b)							\
	do {								\
		long long check_a_ = (long long)(a);			\
		long long check_b_ = (long long)(b);			\
		if (check_a_ != check_b_) {				\
			check_failures++;				\
			fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", \
				__FILE__, __LINE__, #a, #b, check_a_, check_b_); \
		}							\
	} while (0)

#define CHECK_STR(a, b)							\
	do {								\
		const char *check_a_ = (a), *check_b_ = (b);		\
		if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_)) { \
			check_failures++;				\
			fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", \
				__FILE__, __LINE__, #a, #b,		\
				check_a_ ? check_a_ : "(null)",		\
				check_b_ ? check_b_ : "(null)");	\
		}							\
	} while (0)

struct check_test {
	const char *name;
	void (*fn)(void);
};

#define TEST(name) static void test_##name(void)
#define TEST_ENTRY(name) { #name, test_##name }

static inline int check_run(const struct check_test *tests, size_t n)
{
	int failed_tests = 0;

	for (size_t i = 0; i < n; i++) {
		int before = check_failures;

		tests[i].fn();
		if (check_failures != before) {
			failed_tests++;
			printf("not ok %zu - %s\n", i + 1, tests[i].name);
		} else {
			printf("ok %zu - %s\n", i + 1, tests[i].name);
		}
	}
	printf("%zu passed, %d failed\n", n - (size_t)failed_tests, failed_tests);
	return failed_tests ? 1 : 0;
}

#define CHECK_MAIN(...)							\
	int main(void)							\
	{								\
		static const struct check_test tests_[] = { __VA_ARGS__ }; \
		return check_run(tests_, sizeof(tests_) / sizeof(tests_[0])); \
	}

#endif
