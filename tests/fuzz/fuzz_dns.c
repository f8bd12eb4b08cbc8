/* libFuzzer target: arbitrary bytes as a guest's DNS query (dns_parse_query,
 * then our answer to it, which must parse back as an answer to the same
 * question) and as an upstream answer (dns_parse_response, compression
 * pointers and CNAME chains). */
#include "tools/gateway/dns.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t a4[4] = { 198, 18, 0, 1 };
	uint8_t *msg = malloc(size ? size : 1), out[DNS_MSG_MAX];
	struct dns_query q;
	struct dns_answer a;
	int n;

	if (!msg)
		return 0;
	memcpy(msg, data, size);	/* exactly sized: ASan sees overreads */
	if (dns_parse_query(msg, size, &q) == 0) {
		if (q.qend > size || strlen(q.name) >= sizeof(q.name))
			abort();
		for (size_t max = 0; max <= 1024; max += 256) {
			n = dns_build_answer(&q, msg, out, sizeof(out), max ? max : 12,
					     DNS_RCODE_NOERROR, a4, 60);
			if (n > (int)(max ? max : 12))
				abort();
			if (n > 0 && q.host && q.name[0] && q.qclass == DNS_CLASS_IN &&
			    !(out[2] & 0x02) &&
			    dns_parse_response(out, (size_t)n, q.id, q.name, q.qtype, &a) != 0)
				abort();
		}
	}
	if (size > 2) {
		/* The first two bytes choose the question we think we asked. */
		uint16_t type = data[0] & 1 ? 28 : 1;

		dns_parse_response(msg, size, (uint16_t)(data[1] << 8 | data[2]),
				   "www.example.org", type, &a);
		if (a.n > DNS_ANSWER_MAX)
			abort();
	}
	free(msg);
	return 0;
}
