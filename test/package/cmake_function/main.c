#include <stdio.h>

#include "g.h"

int main(void) {
  printf("D=%d H=%d N=%d\n", G_INPUT_SIZE, G_HIDDEN_SIZE, G_BATCH);
  return 0;
}
