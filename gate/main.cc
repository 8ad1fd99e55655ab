#include "gate/cli.h"

int main(int argc, char** argv) { return jobgate::gate::RunCli(argc, argv); }
