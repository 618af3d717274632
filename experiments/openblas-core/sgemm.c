#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <cblas.h>
char* openblas_get_corename(void);
int main(){
  int n=2000; float *a=malloc(4L*n*n),*b=malloc(4L*n*n),*c=malloc(4L*n*n);
  for(long i=0;i<(long)n*n;i++){a[i]=1.0f/(i%7+1);b[i]=1.0f/(i%5+1);}
  cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasNoTrans,n,n,n,1,a,n,b,n,0,c,n);
  struct timespec t0,t1; clock_gettime(CLOCK_MONOTONIC,&t0);
  for(int r=0;r<5;r++) cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasNoTrans,n,n,n,1,a,n,b,n,0,c,n);
  clock_gettime(CLOCK_MONOTONIC,&t1);
  double s=(t1.tv_sec-t0.tv_sec)+(t1.tv_nsec-t0.tv_nsec)/1e9;
  printf("core %s: sgemm %.1f GFLOP/s\n", openblas_get_corename(), 5*2.0*n*n*n/s/1e9);
}
