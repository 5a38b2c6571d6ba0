/* This architecture walks its tables with libunwind. */
#include "table_walk_libunwind.h"
