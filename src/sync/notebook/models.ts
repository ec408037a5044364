/**
 * The model over each notebook document a workspace holds (made on first use, kept while the
 * workspace lives: notebooks are few, and a model must watch its document to bring back cells
 * someone typed in while another deleted them). A document replaced (released and built again)
 * gets a new model.
 */
import type * as Y from 'yjs';
import { NotebookModel } from './model';

export interface NotebookModelsParts {
  /** The document of a notebook entry, if one is held here. */
  docOf(id: string): Y.Doc | undefined;
  /** A cell deleted while someone typed in it came back (to be told). */
  restored(id: string, cell: string): void;
}

export class NotebookModels {
  private readonly models = new Map<string, NotebookModel>();

  constructor(private readonly o: NotebookModelsParts) {}

  of(id: string): NotebookModel | undefined {
    const doc = this.o.docOf(id);
    if (!doc) return undefined;
    let model = this.models.get(id);
    if (model?.doc !== doc) {
      model?.dispose();
      model = new NotebookModel(doc);
      model.on('restored', (cell) => this.o.restored(id, cell));
      this.models.set(id, model);
    }
    return model;
  }

  dispose(): void {
    for (const model of this.models.values()) model.dispose();
    this.models.clear();
  }
}
