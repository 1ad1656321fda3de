/* hello: one line on stdout, one on stderr, both as write requests. */
#include "guest/sandbox_guest.h"

int main(void)
{
    if (sg_printf("hello from the sandbox\n") < 0)
        return 1;
    if (sg_eprintf("hello: this line goes to stderr\n") < 0)
        return 1;
    return 0;
}
