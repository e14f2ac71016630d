#include <stdio.h>

#include "g.h"

int main(void) {
  printf("D=%d H=%d N=%d layers=%d directions=%d\n", G_INPUT_SIZE, G_HIDDEN_SIZE, G_BATCH,
         G_LAYERS, G_DIRECTIONS);
  return 0;
}
