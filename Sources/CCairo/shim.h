// cairo (Debian: libcairo2-dev), the 2-D graphics library behind `harmony plot`: PNG, SVG and PDF surfaces.
#include <cairo.h>
#include <cairo-svg.h>
#include <cairo-pdf.h>
