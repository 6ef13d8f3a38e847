/// The critical path of a trace's task graph: the path along dependency edges whose tasks' durations
/// add up to the most.
struct CriticalPath {
    /// The path's tasks, first to last.
    var tasks: [TraceTask]
    /// The tasks that dependency cycles left out (none in a trace of a run).
    var tasksInCycles: Int

    /// The sum of the path's task durations, in microseconds.
    var length: Double { tasks.reduce(0) { $0 + $1.duration } }

    /// The longest path through `tasks` along `dependencies`; edges naming tasks not in `tasks` are
    /// ignored. Ties go to the earlier-starting task.
    init(tasks: [TraceTask], dependencies: [TraceDependency]) {
        var index: [Int: Int] = [:]
        for (position, task) in tasks.enumerated() { index[task.number] = position }
        var successors = [[Int]](repeating: [], count: tasks.count)
        var pending = [Int](repeating: 0, count: tasks.count)
        for edge in dependencies {
            guard let from = index[edge.from], let to = index[edge.to], from != to else { continue }
            successors[from].append(to)
            pending[to] += 1
        }
        // Kahn's order; `best[v]` is the longest path ending at v, `previous[v]` its predecessor there.
        var best = tasks.map(\.duration)
        var previous = [Int?](repeating: nil, count: tasks.count)
        var ready = (0..<tasks.count).filter { pending[$0] == 0 }
        var visited = 0
        while let node = ready.popLast() {
            visited += 1
            for next in successors[node] {
                let through = best[node] + tasks[next].duration
                if through > best[next]
                    || (through == best[next] && previous[next].map { tasks[node].start < tasks[$0].start } == true)
                {
                    best[next] = through
                    previous[next] = node
                }
                pending[next] -= 1
                if pending[next] == 0 { ready.append(next) }
            }
        }
        tasksInCycles = tasks.count - visited
        let finished = (0..<tasks.count).filter { pending[$0] == 0 }
        guard
            var last = finished.max(by: {
                (best[$0], -tasks[$0].start) < (best[$1], -tasks[$1].start)
            })
        else {
            self.tasks = []
            return
        }
        var path = [tasks[last]]
        while let before = previous[last] {
            path.append(tasks[before])
            last = before
        }
        self.tasks = path.reversed()
    }
}
