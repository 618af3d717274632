// Debian installs libpq's header under postgresql/; including it by that path
// spares every build a -I flag (libpq-fe.h finds postgres_ext.h beside itself).
#include <postgresql/libpq-fe.h>
