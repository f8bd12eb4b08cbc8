/* Terminal-safe text: see text.h. */
#include "proto/text.h"

#include <errno.h>
#include <stdint.h>

int check_text(const char *str, size_t len, size_t max)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	if (len > max)
		return -E2BIG;
	while (i < len) {
		unsigned char c = s[i];
		uint32_t cp;
		size_t n;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return -EINVAL;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1fu;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0fu;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07u;
		} else {
			return -EINVAL;
		}
		if (len - i - 1 < n)
			return -EINVAL;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return -EINVAL;
			cp = cp << 6 | (s[i + k] & 0x3fu);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp <= 0x9f))
			return -EINVAL;
		i += n + 1;
	}
	return 0;
}
