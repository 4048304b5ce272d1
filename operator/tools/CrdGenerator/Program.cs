using Operator.CrdGenerator;

// Writes crds/*.yaml and the chart's copy from the Operator.Api types.
// Usage: CrdGenerator [repository-root]   (default: the current directory)
var root = args.Length > 0 ? args[0] : Directory.GetCurrentDirectory();
foreach (var directory in CrdRenderer.OutputDirectories)
{
    var target = Path.Combine(root, directory);
    Directory.CreateDirectory(target);
    foreach (var (fileName, yaml) in CrdRenderer.RenderAll())
    {
        File.WriteAllText(Path.Combine(target, fileName), yaml);
        Console.WriteLine(Path.Combine(directory, fileName));
    }
}
