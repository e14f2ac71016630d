#include <stdio.h>

#include "a.h"
#include "b.h"

int main(void) {
  printf("a: H=%d, b: H=%d N=%d\n", A_HIDDEN_SIZE, B_HIDDEN_SIZE, B_BATCH);
  return 0;
}
