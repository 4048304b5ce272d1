using System.Net;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Kube.PodRunner;

/// <summary>Removal of what the runner created, tolerant of things already gone. Stateless. Thread-safe.</summary>
public static class DockerCleanup
{
    /// <summary>Removes every container, volume and network carrying <paramref name="labelFilter"/> (<c>key=value</c>).</summary>
    public static async Task SweepAsync(IDockerClient docker, string labelFilter)
    {
        var filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [labelFilter] = true } };
        foreach (var container in await docker.Containers.ListContainersAsync(new ContainersListParameters { All = true, Filters = filters }))
        {
            await IgnoreNotFound(() => docker.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }));
        }
        var volumes = await docker.Volumes.ListAsync(new VolumesListParameters { Filters = filters });
        foreach (var volume in volumes.Volumes ?? [])
        {
            await IgnoreNotFound(() => docker.Volumes.RemoveAsync(volume.Name, force: true));
        }
        foreach (var network in await docker.Networks.ListNetworksAsync(new NetworksListParameters { Filters = filters }))
        {
            await IgnoreNotFound(() => docker.Networks.DeleteNetworkAsync(network.ID));
        }
    }

    internal static async Task IgnoreNotFound(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            // Already gone.
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.Conflict && e.ResponseBody?.Contains("already in progress", StringComparison.Ordinal) == true)
        {
            // Being removed by someone else.
        }
    }
}
