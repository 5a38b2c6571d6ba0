/* A statically linked program: nothing to inject into. */
#include <unistd.h>
int main(void) { char c; return read(0, &c, 1) == 1 ? 0 : 1; }
