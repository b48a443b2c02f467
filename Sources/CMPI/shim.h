// Open MPI's C API for the distributed fit. MPI_COMM_WORLD, MPI_DOUBLE, ... are macros over the addresses of
// library globals, which Swift does not import; these inline functions return them.
#include <mpi.h>

static inline MPI_Comm harmony_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype harmony_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype harmony_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype harmony_mpi_byte(void) { return MPI_BYTE; }
