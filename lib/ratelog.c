/* See ratelog.h. */
#include "lib/ratelog.h"

bool ratelog_take(struct ratelog *r, bool *last)
{
	bool log = r->seen < r->max;

	*last = r->seen + 1 == r->max;
	if (r->seen < ~0u)
		r->seen++;
	return log;
}
