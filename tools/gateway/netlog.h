/* The sandbox's network log (sandboxes/NAME/network.log): one JSON object
 * a line for every decision the gateway makes, read by `airlock policy
 * log`. Bounded: when the file reaches its cap, its older half is dropped
 * (the newer half moves to the front, cut at a line start), so a guest can
 * make it churn but never grow. Written through one descriptor with
 * pread/pwrite: no path is ever opened. */
#ifndef AIRLOCK_GATEWAY_NETLOG_H
#define AIRLOCK_GATEWAY_NETLOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NETLOG_DEFAULT_MAX (4u << 20)

struct netlog {
	int fd;			/* -1: nowhere */
	off_t size, max;
	const char *sandbox;
};

/* One decision. Strings may be NULL (left out); kind is "dns", "tcp",
 * "udp", "policy" or "gateway". */
struct netlog_entry {
	const char *kind;
	const char *name;	/* as asked for, escaped (dns.h) */
	const char *qtype;	/* dns */
	const char *addr;	/* the address connected to, or dialled */
	const char *answer;	/* dns */
	unsigned int port;
	const char *action;	/* "allow", "deny", "error" */
	const char *rule;	/* "rule (source)" */
	const char *reason;
	uint64_t sent, received;	/* bytes, guest -> out and back */
	int64_t ms;		/* connection time; -1: not a connection */
	const char *extra;	/* raw JSON members to add ("\"rules\":[...]") */
};

void netlog_init(struct netlog *l, int fd, off_t max, const char *sandbox);
void netlog_write(struct netlog *l, const struct netlog_entry *e);

/* Appends s as a JSON string (with quotes) to buf at *n, escaping what
 * JSON needs; bytes past size are dropped and the string is cut. */
void json_str(char *buf, size_t size, size_t *n, const char *s);

#endif
