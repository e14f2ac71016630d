/* Links gru::MyGru and creates a model: the imported target carries the header's directory and
 * what the library links (find_package.test). */
#include <stdio.h>
#include "MyGru.h"

int main(void) {
  static float Wx[3 * 4 * 2], Wh[3 * 4 * 4], b[3 * 4], bhn[4];
  MyGru_model *m = NULL;
  const gru_status s = MyGru_create(Wx, Wh, b, bhn, &m);
  printf("abi %u, create: %s\n", (unsigned)MyGru_abi_version(), MyGru_status_string(s));
  MyGru_destroy(m);
  return s != GRU_OK;
}
