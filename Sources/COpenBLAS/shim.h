#include <cblas.h>
/* OpenBLAS extensions: thread count control (see PLATFORM.md, trap 7). */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char* openblas_get_corename(void);
