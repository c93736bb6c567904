/* A bump arena for jansson's allocations while one POST /interviews body is parsed and
 * validated: jansson allocates and frees a block per value, key and string, and malloc/free on
 * its behalf was the largest CPU cost of the request.
 *
 * Installed process-wide with json_set_alloc_funcs (before any jansson value exists), it changes
 * nothing outside an active window: allocations go to malloc, frees to free. Inside a window
 * (gw_jarena_begin .. gw_jarena_end, on one thread at a time) allocations bump a pointer in a
 * fixed region; a free of a region pointer is a no-op (from any thread), and gw_jarena_end makes
 * the whole region reusable. A window's allocations beyond the region go to malloc.
 *
 * Contract of a window: every jansson value allocated in it is released before gw_jarena_end
 * (nothing allocated in it survives the request), and nothing allocated in it by jansson is
 * passed to free() (json_dumps' result, for one: call json_dumps outside a window). */
#ifndef GW_JARENA_H
#define GW_JARENA_H

/* Routes jansson's allocations through the arena. Call once, first thing in main. */
void gw_jarena_install(void);
/* Opens a window on this thread (windows do not nest). 0 when not installed, already open, or
 * another thread holds the region: allocations then go to malloc as usual. Either way, pair it
 * with one gw_jarena_end. */
int gw_jarena_begin(void);
/* Closes this thread's window and recycles the region. */
void gw_jarena_end(void);

#endif
