/* vmm/io: the port bus. Ranges must not overlap or run past 0xffff; an
 * access reaches a handler only if it lies wholly inside its range. */
#include "vmm/io.h"
#include "tests/unit/check.h"

#include <errno.h>

struct dev {
	int calls;
	uint16_t offset;
	uint8_t size;
	bool is_write;
	uint8_t data[4];
};

static void handler(void *opaque, uint16_t offset, uint8_t *data, uint8_t size,
		    bool is_write)
{
	struct dev *d = opaque;

	d->calls++;
	d->offset = offset;
	d->size = size;
	d->is_write = is_write;
	if (is_write) {
		memcpy(d->data, data, size);
	} else {
		for (uint8_t i = 0; i < size; i++)
			data[i] = (uint8_t)(0x10 + offset + i);
	}
}

TEST(add_refusals)
{
	struct io_bus b = { 0 };
	struct dev d = { 0 };

	CHECK_EQ(io_bus_add(&b, 0x3f8, 8, handler, &d), 0);
	CHECK_EQ(io_bus_add(&b, 0x3f8, 8, handler, &d), -EBUSY);
	CHECK_EQ(io_bus_add(&b, 0x3f0, 9, handler, &d), -EBUSY);	/* low end */
	CHECK_EQ(io_bus_add(&b, 0x3ff, 1, handler, &d), -EBUSY);	/* high end */
	CHECK_EQ(io_bus_add(&b, 0x3fa, 2, handler, &d), -EBUSY);	/* inside */
	CHECK_EQ(io_bus_add(&b, 0x300, 0x200, handler, &d), -EBUSY);	/* around */
	CHECK_EQ(io_bus_add(&b, 0x3f0, 8, handler, &d), 0);		/* touching */
	CHECK_EQ(io_bus_add(&b, 0x400, 1, handler, &d), 0);
	CHECK_EQ(io_bus_add(&b, 0x80, 0, handler, &d), -EINVAL);
	CHECK_EQ(io_bus_add(&b, 0xfff0, 0x11, handler, &d), -EINVAL);
	CHECK_EQ(io_bus_add(&b, 0xffff, 2, handler, &d), -EINVAL);
	CHECK_EQ(io_bus_add(&b, 0xffff, 0xffff, handler, &d), -EINVAL);
	CHECK_EQ(io_bus_add(&b, 0xffff, 1, handler, &d), 0);		/* last port */
	CHECK_EQ(b.n, 4);
}

TEST(add_too_many)
{
	struct io_bus b = { 0 };
	struct dev d = { 0 };
	unsigned int i;

	for (i = 0; i < IO_BUS_MAX; i++)
		CHECK_EQ(io_bus_add(&b, (uint16_t)(0x100 + 4 * i), 4, handler, &d), 0);
	CHECK_EQ(io_bus_add(&b, (uint16_t)(0x100 + 4 * i), 4, handler, &d), -ENOSPC);
	CHECK_EQ(b.n, IO_BUS_MAX);
}

TEST(dispatch_offsets)
{
	struct io_bus b = { 0 };
	struct dev com1 = { 0 }, kbd = { 0 }, last = { 0 };
	uint8_t data[4];

	CHECK_EQ(io_bus_add(&b, 0x60, 1, handler, &kbd), 0);
	CHECK_EQ(io_bus_add(&b, 0x3f8, 8, handler, &com1), 0);
	CHECK_EQ(io_bus_add(&b, 0xfffc, 4, handler, &last), 0);

	CHECK(io_bus_access(&b, 0x3fd, data, 1, false));
	CHECK_EQ(com1.calls, 1);
	CHECK_EQ(com1.offset, 5);
	CHECK_EQ(com1.size, 1);
	CHECK(!com1.is_write);
	CHECK_EQ(data[0], 0x15);

	data[0] = 0xab;
	data[1] = 0xcd;
	CHECK(io_bus_access(&b, 0x3f8, data, 2, true));
	CHECK_EQ(com1.offset, 0);
	CHECK_EQ(com1.size, 2);
	CHECK(com1.is_write);
	CHECK(com1.data[0] == 0xab && com1.data[1] == 0xcd);

	/* A 4-byte access ending exactly at the range's end. */
	CHECK(io_bus_access(&b, 0x3fc, data, 4, false));
	CHECK_EQ(com1.offset, 4);
	CHECK_EQ(com1.size, 4);
	CHECK(data[0] == 0x14 && data[3] == 0x17);

	CHECK(io_bus_access(&b, 0x60, data, 1, true));
	CHECK_EQ(kbd.calls, 1);
	CHECK_EQ(kbd.offset, 0);

	CHECK(io_bus_access(&b, 0xfffc, data, 4, false));
	CHECK_EQ(last.offset, 0);
	CHECK(io_bus_access(&b, 0xffff, data, 1, false));
	CHECK_EQ(last.offset, 3);
	CHECK_EQ(com1.calls, 3);
	CHECK_EQ(last.calls, 2);
}

TEST(unclaimed)
{
	struct io_bus b = { 0 };
	struct dev com1 = { 0 }, kbd = { 0 }, last = { 0 };
	uint8_t data[4];

	CHECK_EQ(io_bus_add(&b, 0x60, 1, handler, &kbd), 0);
	CHECK_EQ(io_bus_add(&b, 0x3f8, 8, handler, &com1), 0);
	CHECK_EQ(io_bus_add(&b, 0xffff, 1, handler, &last), 0);

	/* Nobody there: reads float high. */
	memset(data, 0, sizeof(data));
	CHECK(!io_bus_access(&b, 0x80, data, 4, false));
	CHECK(data[0] == 0xff && data[1] == 0xff && data[2] == 0xff && data[3] == 0xff);
	memset(data, 0, sizeof(data));
	CHECK(!io_bus_access(&b, 0x3f7, data, 1, false));
	CHECK(data[0] == 0xff && data[1] == 0);		/* only size bytes */

	/* Straddling the end of a range: unclaimed, handler not called. */
	memset(data, 0, sizeof(data));
	CHECK(!io_bus_access(&b, 0x3fe, data, 4, false));
	CHECK(data[0] == 0xff && data[3] == 0xff);
	CHECK(!io_bus_access(&b, 0x3ff, data, 2, false));
	CHECK(!io_bus_access(&b, 0x60, data, 2, false));
	CHECK(!io_bus_access(&b, 0xffff, data, 4, false));	/* would pass 0xffff */
	/* Straddling the start of one. */
	CHECK(!io_bus_access(&b, 0x3f6, data, 4, false));

	/* Unclaimed writes are dropped, the data left alone. */
	data[0] = 0x42;
	CHECK(!io_bus_access(&b, 0x3fe, data, 4, true));
	CHECK(!io_bus_access(&b, 0x81, data, 1, true));
	CHECK_EQ(data[0], 0x42);

	CHECK_EQ(com1.calls, 0);
	CHECK_EQ(kbd.calls, 0);
	CHECK_EQ(last.calls, 0);
}

CHECK_MAIN(
	TEST_ENTRY(add_refusals),
	TEST_ENTRY(add_too_many),
	TEST_ENTRY(dispatch_offsets),
	TEST_ENTRY(unclaimed),
)
