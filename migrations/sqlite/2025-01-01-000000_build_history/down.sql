DROP TABLE zuul_build;
DROP TABLE zuul_buildset;
