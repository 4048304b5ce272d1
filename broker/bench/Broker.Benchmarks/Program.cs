using BenchmarkDotNet.Running;

// Run with: make bench   (or: dotnet run -c Release -- --filter '*Codec*' --memory)
BenchmarkSwitcher.FromAssembly(typeof(Broker.Benchmarks.RecordBatchBenchmarks).Assembly).Run(args);
