using ProtocolGenerator;

// Usage: dotnet run --project broker/tools/ProtocolGenerator -- <schemaDir> <outDir>
//   schemaDir: the kafka-protocol folder (holding clients/, metadata/, raft/)
//   outDir:    the Broker.Protocol project directory (Messages/ and Metadata/ are written below it)
if (args.Length != 2)
{
    Console.Error.WriteLine("usage: ProtocolGenerator <schemaDir> <outDir>");
    return 2;
}

try
{
    var files = Generator.GenerateAll(args[0], args[1]);
    Console.WriteLine($"Generated {files.Count} files into {Path.GetFullPath(args[1])}.");
    return 0;
}
catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}
