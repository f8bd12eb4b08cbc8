/* libFuzzer target: the policy as text, as the gateway reads it from its
 * supervisor (policy_text_parse, and every rule through rule_parse), and
 * the decisions on what it parsed. The host writes that text, not the
 * guest; the parser is fuzzed anyway, since it sits in the gateway. */
#include "tools/gateway/policy.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy p;
	char why[300], *text = malloc(size + 1);
	struct verdict v;
	struct ip a;
	int rule;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (policy_text_parse(&p, text, size, why, sizeof(why)) == 0) {
		char *out = malloc(POLICY_TEXT_MAX);

		if (p.n > POLICY_MAX_RULES || (out && policy_text_format(&p, out,
					       POLICY_TEXT_MAX) < 0))
			abort();
		free(out);
		policy_dns(&p, "www.example.org", &rule);
		policy_name(&p, "www.example.org", 443, &v);
		addr_parse("10.1.2.3", &a);
		policy_addr(&p, &a, 22, false, true, &v);
	}
	{
		struct rule r;

		if (strlen(text) < 400)
			rule_parse(text, &r, why, sizeof(why));
	}
	free(text);
	return 0;
}
