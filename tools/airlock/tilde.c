/* tilde_scan() (tilde.h): three states, as ssh's escape character. A line
 * starts after CR or LF (raw mode: Enter is CR) and at the very beginning. */
#include "tools/airlock/tilde.h"

enum { T_LINE_START, T_MID_LINE, T_TILDE };

const char tilde_help[] =
	"\r\nSupported escape sequences (after a newline):\r\n"
	"  ~.  end the session (the command is hung up)\r\n"
	"  ~?  this help\r\n"
	"  ~~  send one ~\r\n";

void tilde_init(struct tilde *t)
{
	t->state = T_LINE_START;
}

size_t tilde_scan(struct tilde *t, const uint8_t *in, size_t len, uint8_t *out,
		  unsigned int *act)
{
	size_t n = 0;

	*act = 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = in[i];

		if (t->state == T_TILDE) {
			if (c == '.') {
				*act |= TILDE_END;
				return n;
			}
			if (c == '?') {
				*act |= TILDE_HELP;
				t->state = T_LINE_START;
				continue;
			}
			if (c != '~')
				out[n++] = '~';	/* not an escape: both go */
			out[n++] = c;
			t->state = c == '\r' || c == '\n' ? T_LINE_START : T_MID_LINE;
			continue;
		}
		if (t->state == T_LINE_START && c == '~') {
			t->state = T_TILDE;	/* held until the next key */
			continue;
		}
		out[n++] = c;
		t->state = c == '\r' || c == '\n' ? T_LINE_START : T_MID_LINE;
	}
	return n;
}
