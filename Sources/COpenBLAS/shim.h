#include <cblas.h>
/* OpenBLAS extensions: thread count control (its worker threads busy-spin after a call: WaveKit sets one thread while its own threads run). */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char* openblas_get_corename(void);
