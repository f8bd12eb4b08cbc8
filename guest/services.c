/* The services serve mode runs (serve.h): a new one is a line here. */
#include "guest/serve.h"

#include <stddef.h>

const struct service *const serve_services[] = {
	&exec_service,
	&control_service,
	&sync_service,
	NULL,
};
